"""The demo workspace: one project of every kind, filled from resources/demo."""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from pathlib import Path

import av
import numpy as np
import platformdirs
import soundfile as sf

from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import ProjectError, create_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import scratch_dir

DEMO_PROJECTS = (
    ("Demo · instructions", "instruction", "instruction.jsonl"),
    ("Demo · conversations", "conversation", "conversation.jsonl"),
    ("Demo · preferences", "preference", "preference.jsonl"),
    ("Demo · safety", "safety", "safety.jsonl"),
    ("Demo · evaluation", "evaluation", "evaluation.jsonl"),
    ("Demo · new queries", "queries", None),
    ("Demo · multimodal", "multimodal", "media"),
)
DEMO_TURNS = (
    (0.4, 2.6, "spk1", "Hi, thanks for calling. How can I help you today?"),
    (3.0, 5.4, "spk2", "I'd like to move my appointment to Friday."),
    (5.8, 8.2, "spk1", "Friday at ten is free. Shall I book it?"),
    (8.6, 9.8, "spk2", "Yes, please."),
)


def default_workspace() -> Path:
    """Where `labeldesk demo` and the window put the demo: the user's data folder ($XDG_DATA_HOME/labeldesk)."""
    return platformdirs.user_data_path("labeldesk") / "demo"


def populate(ws: Workspace, lead: Actor) -> list[str]:
    """Create the demo projects (skipping ones that exist) and import their items, as `lead`."""
    made = []
    for name, kind, data in DEMO_PROJECTS:
        try:
            create_project(ws, lead, name, kind)
        except ProjectError:
            continue
        made.append(name)
        if data is None:
            continue
        if data == "media":
            with scratch_dir("demo") as tmp:
                import_files(ws, lead, name, [write_demo_media(tmp)])
            continue
        text = resources.files("labeldesk.resources").joinpath("demo", data).read_text(encoding="utf-8")
        with scratch_dir("demo") as tmp:
            path = tmp / data
            path.write_text(text, encoding="utf-8")
            import_files(ws, lead, name, [path])
    return made


def write_demo_media(folder: Path, rate: int = 16000, seconds: float = 10.5) -> Path:
    """A made-up phone call (speech-like tone bursts per turn, with a WebVTT transcript) and a short video.

    Generated, not shipped or downloaded: two voices as pitched, syllable-modulated
    tones, so the waveform and the regions have something to show.
    """
    t = np.arange(int(seconds * rate)) / rate
    audio = np.zeros_like(t)
    rng = np.random.default_rng(7)
    for start, end, speaker, _text in DEMO_TURNS:
        inside = (t >= start) & (t < end)
        pitch = 180.0 if speaker == "spk1" else 120.0
        syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t[inside]) ** 2
        voice = np.sin(2 * np.pi * pitch * t[inside]) + 0.3 * np.sin(2 * np.pi * 2.5 * pitch * t[inside])
        audio[inside] = 0.35 * syllables * voice + 0.02 * rng.standard_normal(inside.sum())
    sf.write(folder / "call.wav", audio.astype(np.float32), rate)
    cues = ["WEBVTT", ""]
    for start, end, speaker, text in DEMO_TURNS:
        cues += [f"{_vtt_time(start)} --> {_vtt_time(end)}", f"<v {speaker}>{text}", ""]
    (folder / "call.vtt").write_text("\n".join(cues), encoding="utf-8")
    _demo_video(folder / "street.mp4")
    return folder


def _vtt_time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{rest:06.3f}"


def _demo_video(path: Path, fps: int = 25, seconds: int = 4) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.time_base = Fraction(1, fps)
        y, x = np.mgrid[0:180, 0:320]
        for i in range(fps * seconds):
            img = np.stack([(x + 4 * i) % 256, (y * 2 + i) % 256, np.full_like(x, (i * 5) % 256)], axis=-1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
