"""Multimodal data: media folders with sidecar transcripts in, transcripts and packages out."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import orjson
import pytest
import soundfile as sf

from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.export import write_package
from labeldesk.app.workflow.importer import ImportFailed, import_files
from labeldesk.app.workflow.media_items import write_transcripts
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project, get_project
from labeldesk.app.workflow.records import iter_records
from labeldesk.media.images import encode_png
from labeldesk.storage.db import Workspace
from labeldesk.storage.formats.transcripts import Segment, read_transcript, write_transcript

RATE = 16000


def tone_wav(path: Path, seconds: float = 3.0, freq: float = 440.0) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(path, (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)
    return path


def small_video(path: Path, frames: int = 30, fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            img = np.full((48, 64, 3), (i * 8) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


SEGMENTS = [
    Segment(0.25, 1.125, "transcript", None, "Hello there.", "spk1"),
    Segment(1.5, 2.75, "transcript", None, "Hi! How are you?", "spk2"),
    Segment(0.25, 1.125, "speaker", "spk1"),
    Segment(1.5, 2.75, "speaker", "spk2"),
]


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dialogues"
    folder.mkdir()
    tone_wav(folder / "call1.wav")
    write_transcript(folder / "call1.eaf", SEGMENTS)
    tone_wav(folder / "call2.wav", freq=220.0)
    write_transcript(folder / "call2.vtt", [s for s in SEGMENTS if s.tier == "transcript"])
    small_video(folder / "clip.mp4")
    return folder


@pytest.fixture
def mm(workspace: Workspace, lead: Actor) -> Workspace:
    create_project(workspace, lead, "mm", "multimodal")
    return workspace


def test_media_folder_with_sidecars_imports_as_conversation_items(mm: Workspace, lead: Actor, media_dir: Path) -> None:
    report = import_files(mm, lead, "mm", [media_dir])
    assert report.imported == 3
    again = import_files(mm, lead, "mm", [media_dir])
    assert (again.imported, again.unchanged) == (0, 3), "re-import is idempotent"
    records = {r["provenance"]["source"].split(" ")[0]: r for r in iter_records(mm, get_project(mm, "mm"))}
    call1 = records["call1.wav"]
    assert call1["kind"] == "conversation"
    media = call1["media"][0]
    assert media["type"] == "audio" and media["duration"] == pytest.approx(3.0, abs=1e-3)
    stored = mm.media_root / media["path"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == media["sha256"] == hashlib.sha256((media_dir / "call1.wav").read_bytes()).hexdigest()
    assert [m["content"] for m in call1["messages"]] == ["Hello there.", "Hi! How are you?"]
    assert call1["messages"][1]["media"] == [{"ref": "m1", "start": 1.5, "end": 2.75}]
    assert call1["messages"][0]["speaker"] == "spk1"
    imported = call1["meta"]["transcript_segments"]
    assert {(s["tier"], s.get("label")) for s in imported} >= {("speaker", "spk1"), ("speaker", "spk2")}
    assert "annotations" not in call1, "a sidecar transcript is a starting point, not a submission"
    assert records["clip.mp4"]["media"][0]["type"] == "video"


def test_regions_round_trip_through_every_transcript_format(mm: Workspace, lead: Actor, media_dir: Path, tmp_path: Path) -> None:
    import_files(mm, lead, "mm", [media_dir / "call1.wav"])
    records = list(iter_records(mm, get_project(mm, "mm")))
    for fmt, suffix in (("eaf", ".eaf"), ("textgrid", ".TextGrid"), ("vtt", ".vtt"), ("srt", ".srt")):
        out = tmp_path / fmt
        [written] = list(write_transcripts(records, fmt, out, mm.media_root))
        assert written.suffix == suffix
        back = read_transcript(written)
        expected = SEGMENTS if fmt in ("eaf", "textgrid") else [s for s in SEGMENTS if s.tier == "transcript"]
        got = {(round(s.start, 3), round(s.end, 3), s.tier, s.label, s.text) for s in back}
        want = {(round(s.start, 3), round(s.end, 3), s.tier, s.label, s.text) for s in expected}
        assert got == want, fmt


def test_transcript_file_needs_its_media_and_bad_media_is_named(mm: Workspace, lead: Actor, tmp_path: Path) -> None:
    lonely = tmp_path / "lonely.vtt"
    write_transcript(lonely, [SEGMENTS[0]])
    with pytest.raises(ImportFailed, match=r"lonely\.vtt: no media file named lonely\.\* beside it"):
        import_files(mm, lead, "mm", [lonely])
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00")
    with pytest.raises(ImportFailed, match=r"broken\.wav"):
        import_files(mm, lead, "mm", [broken])
    assert get_project(mm, "mm", with_counts=True).items == 0


def _mp3(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * 44100)) / 44100
    x = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        for i in range(0, len(x), 4410):
            frame = av.AudioFrame.from_ndarray(x[None, i:i + 4410], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, i, Fraction(1, 44100)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_a_cut_recording_imports_with_its_real_length_and_says_so(mm: Workspace, lead: Actor, tmp_path: Path) -> None:
    whole = _mp3(tmp_path / "whole.mp3", 8.0)
    cut = tmp_path / "cut" / "call.mp3"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    report = import_files(mm, lead, "mm", [cut])
    assert report.imported == 1
    [deviation] = report.to_dict()["deviations"]
    assert deviation["field"] == "media.duration" and "truncated" in deviation["change"]
    [record] = iter_records(mm, get_project(mm, "mm"))
    assert 3.0 < record["media"][0]["duration"] < 5.0  # where the data ends, not the header's 8 s
    assert "truncated" in record["meta"]["media_warnings"][0]


def test_an_image_named_like_a_video_is_refused(mm: Workspace, lead: Actor, tmp_path: Path) -> None:
    fake = tmp_path / "still.mp4"
    fake.write_bytes(encode_png(np.zeros((8, 8, 3), dtype=np.uint8)))
    with pytest.raises(ImportFailed, match=r"still\.mp4.*PNG"):
        import_files(mm, lead, "mm", [fake])


def test_package_carries_media_with_sha256(mm: Workspace, lead: Actor, media_dir: Path, tmp_path: Path) -> None:
    import_files(mm, lead, "mm", [media_dir])
    manifest = write_package(mm, "mm", tmp_path / "pkg.zip", actor=lead)
    media_files = [name for name in manifest["files"] if name.startswith("media/")]
    assert len(media_files) == 3
    with zipfile.ZipFile(tmp_path / "pkg.zip") as zf:
        for name in media_files:
            assert hashlib.sha256(zf.read(name)).hexdigest() == manifest["files"][name]["sha256"]
        records = [orjson.loads(line) for line in zf.read("data/records.jsonl").splitlines()]
    assert all(r["media"][0]["path"].startswith("media/") for r in records)


def test_media_cli_probe_frame_and_transcript_export(tmp_path: Path, media_dir: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "labeldesk", *args], capture_output=True, text=True, timeout=120)

    info = json.loads(run("media", "probe", str(media_dir / "clip.mp4"), "--json").stdout)
    assert info["kind"] == "video" and info["video"]["width"] == 64
    frame = json.loads(run("media", "frame", str(media_dir / "clip.mp4"), "--at", "1.05", "--out", str(tmp_path / "f.png"), "--json").stdout)
    assert frame["frame"] == 10 and (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = run("media", "probe", str(tmp_path / "missing.wav"))
    assert bad.returncode == 1 and "missing.wav" in bad.stderr

    ws = tmp_path / "ws"
    assert run("init", str(ws)).returncode == 0
    assert run("project", "create", "mm", "--kind", "multimodal", "-w", str(ws)).returncode == 0
    assert run("import", str(media_dir), "--project", "mm", "-w", str(ws)).returncode == 0
    result = run("export", "--project", "mm", "--format", "eaf", "--out", str(tmp_path / "eaf"), "-w", str(ws))
    assert result.returncode == 0, result.stderr
    assert sorted(p.suffix for p in (tmp_path / "eaf").iterdir()) == [".eaf", ".eaf", ".eaf"]


def test_package_with_clips_cut_to_labeled_ranges(tmp_path: Path, media_dir: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    lead = local_actor(ws)
    create_project(ws, lead, "mm", "multimodal")
    import_files(ws, lead, "mm", [media_dir / "call1.wav"])
    manifest = write_package(ws, "mm", tmp_path / "pkg", actor=lead, clips=True)
    clips = sorted(name for name in manifest["files"] if name.startswith("media/clips/"))
    assert len(clips) == 2  # the two labeled ranges (transcript and speaker tiers share them)
    record = orjson.loads((tmp_path / "pkg" / "data" / "records.jsonl").read_bytes().splitlines()[0])
    listed = {c["path"]: c for c in record["meta"]["clips"]}
    assert set(listed) == set(clips)
    info = sf.info(str(tmp_path / "pkg" / clips[0]))
    assert info.duration == pytest.approx(1.125 - 0.25, abs=1e-3)
    assert manifest["settings"]["media"] == "clips"
