"""Errors of the media layer.

Every failure that a user can cause by pointing the app at a bad file is a
`MediaError` whose message names the file and says what is wrong with it in
words an annotator understands; panes show the message as it is. The `problem`
attribute lets callers branch without parsing text.
"""

from __future__ import annotations

import enum
import os
import struct
from pathlib import Path

import av

__all__ = ["Cancelled", "MediaError", "Problem", "check_file", "damaged", "diagnose", "open_container"]


class Problem(str, enum.Enum):
    MISSING = "file not found"
    NOT_A_FILE = "not a regular file"
    ZERO_LENGTH = "zero-length file (0 bytes)"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    NO_AUDIO = "no audio stream"
    NO_VIDEO = "no video stream"
    UNSUPPORTED = "unsupported"
    WRONG_EXTENSION = "wrong file extension"


class MediaError(Exception):
    """A media file cannot be used as asked.

    str(err) reads like "/data/a.mp4: truncated — the MP4 index ('moov' box)
    is missing; the recording was probably interrupted".
    """

    def __init__(self, path: str | os.PathLike[str], problem: Problem, detail: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.detail = detail
        text = f"{self.path}: {problem.value}"
        super().__init__(f"{text} — {detail}" if detail else text)

    def __reduce__(self):  # crosses process boundaries (peak building workers)
        return (type(self), (self.path, self.problem, self.detail))


class Cancelled(Exception):
    """Long work (peak building, clip cutting) stopped because the caller asked."""


def check_file(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a precise reason, before a decoder gives a vague one."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(p, Problem.MISSING) from None
    except OSError as exc:
        raise MediaError(p, Problem.UNSUPPORTED, f"cannot be read: {exc.strerror}") from None
    if not p.is_file():
        raise MediaError(p, Problem.NOT_A_FILE)
    if st.st_size == 0:
        raise MediaError(p, Problem.ZERO_LENGTH)
    return p


def open_container(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open a file for reading with PyAV; a refusal becomes the MediaError `diagnose` explains."""
    try:
        # Tags in damaged or foreign files are often not UTF-8: a bad title must not stop the file opening.
        return av.open(str(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise diagnose(path, exc) from None


def diagnose(path: str | os.PathLike[str], exc: BaseException | None = None) -> MediaError:
    """Explain why a decoder refused a file.

    Decoders only say "invalid data"; a look at the container's own framing
    usually tells a truncated file (an interrupted recording or copy) from a
    corrupt or unknown one, which matters to the person who has to fix it.
    """
    p = Path(path)
    try:
        check_file(p)
    except MediaError as err:
        return err
    reason = f" ({exc})" if exc is not None and str(exc) else ""
    return damaged(p, f"not a readable audio, video or image file{reason}")


def damaged(path: str | os.PathLike[str], detail: str) -> MediaError:
    """The error for data a decoder cannot use: TRUNCATED when the framing shows a cut file, else CORRUPT."""
    truncated = _truncation_hint(Path(path))
    if truncated:
        return MediaError(path, Problem.TRUNCATED, truncated)
    return MediaError(path, Problem.CORRUPT, detail)


def _truncation_hint(path: Path) -> str:
    """Return why the file looks cut short, or "" when its framing is whole."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
                return wav_truncation(path) if head[8:12] == b"WAVE" else ""
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
                return _mp4_truncation(fh, size)
    except OSError:
        return ""
    return ""


def wav_truncation(path: str | os.PathLike[str]) -> str:
    """Compare a WAV file's declared data size with the bytes really there.

    libsndfile silently shortens a cut WAV to what it finds, so without this
    check a half-copied recording would be labelled as if it were complete.
    Sizes 0 and 0xFFFFFFFF mean "unknown" (streamed recorders) and pass.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        if fh.read(4) != b"RIFF":
            return ""
        fh.seek(12)
        pos = 12
        while pos + 8 <= size:
            header = fh.read(8)
            if len(header) < 8:
                return ""
            cid, csize = header[:4], struct.unpack("<I", header[4:])[0]
            if cid == b"data":
                if csize in (0, 0xFFFFFFFF):
                    return ""
                have = size - (pos + 8)
                if have < csize:
                    return (f"the WAV header declares {csize} bytes of audio but only {have} are present"
                            " (the recording or copy was cut short)")
                return ""
            pos += 8 + csize + (csize & 1)
            fh.seek(pos)
    return "the WAV file ends before its audio data begins"


def _mp4_truncation(fh, size: int) -> str:
    """Walk the top-level MP4 boxes; a box running past the end means a cut file."""
    pos = 0
    seen_moov = False
    while pos + 8 <= size:
        fh.seek(pos)
        header = fh.read(16)
        box_size, kind = struct.unpack(">I4s", header[:8])
        if box_size == 1 and len(header) == 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # box extends to the end of the file
            box_size = size - pos
        if box_size < 8:
            return ""  # not MP4 framing after all; let the caller call it corrupt
        seen_moov |= kind == b"moov"
        if pos + box_size > size:
            what = "the MP4 index ('moov' box) is missing" if not seen_moov else f"the '{kind.decode('latin-1')}' box is cut short"
            return f"{what}; the recording or copy was probably interrupted"
        pos += box_size
    if not seen_moov:
        return "the MP4 index ('moov' box) is missing; the recording was probably interrupted"
    return ""
