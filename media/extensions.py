"""Whether a file's name agrees with what it holds.

What a file is (its container, and so audio, video or image) always comes
from its content as FFmpeg detects it; the extension is only checked against
that. A known media extension that names another container than the one
found (a PNG renamed .mp4, an MP3 saved as .wav) is refused rather than
reported: the media store keeps the file's extension, and players, exporters
and the people who receive a dataset all trust it. Unknown or missing
extensions are accepted on the content alone: they claim nothing.
"""

from __future__ import annotations

from pathlib import Path

import av

from labeldesk.media.errors import MediaError, Problem

__all__ = ["check_extension"]

_MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
_MATROSKA = "matroska,webm"

# Extension -> the FFmpeg demuxers whose files may carry it. "image2" picks
# images by their extension, so it agrees with any image extension.
_CONTAINERS: dict[str, frozenset[str]] = {
    **dict.fromkeys((".wav", ".wave"), frozenset({"wav"})),
    ".w64": frozenset({"w64"}),
    **dict.fromkeys((".aif", ".aiff", ".aifc"), frozenset({"aiff"})),
    ".caf": frozenset({"caf"}),
    ".au": frozenset({"au"}),
    ".flac": frozenset({"flac"}),
    ".mp3": frozenset({"mp3"}),
    ".aac": frozenset({"aac"}),
    **dict.fromkeys((".ogg", ".oga", ".ogv", ".opus"), frozenset({"ogg"})),
    **dict.fromkeys((".mp4", ".m4a", ".m4v", ".mov", ".3gp"), frozenset({_MP4})),
    **dict.fromkeys((".mkv", ".mka", ".webm"), frozenset({_MATROSKA})),
    ".avi": frozenset({"avi"}),
    **dict.fromkeys((".png", ".apng"), frozenset({"png_pipe", "image2"})),
    **dict.fromkeys((".jpg", ".jpeg"), frozenset({"jpeg_pipe", "image2"})),
    ".webp": frozenset({"webp_pipe", "image2"}),
    ".bmp": frozenset({"bmp_pipe", "image2"}),
    **dict.fromkeys((".tif", ".tiff"), frozenset({"tiff_pipe", "image2"})),
    ".gif": frozenset({"gif", "image2"}),
}


def check_extension(path: Path, fmt: av.format.ContainerFormat) -> None:
    """Raise MediaError (WRONG_EXTENSION) when a known extension names another container than `fmt`."""
    ext = path.suffix.lower()
    expected = _CONTAINERS.get(ext)
    if expected is None or fmt.name in expected:
        return
    right = _extension_for(fmt.name)
    fix = f"rename it to end in {right}" if right else "rename it to the extension of what it holds"
    raise MediaError(path, Problem.WRONG_EXTENSION,
                     f"the name ends in {ext}, but the file holds {_describe(fmt)}; {fix}")


def _extension_for(fmt_name: str) -> str | None:
    """The usual extension of a container (the first one listed for it)."""
    return next((ext for ext, names in _CONTAINERS.items() if fmt_name in names and fmt_name != "image2"), None)


def _describe(fmt: av.format.ContainerFormat) -> str:
    """Words for what was found: "a PNG image", "QuickTime / MOV data"."""
    if fmt.name.endswith("_pipe"):
        return f"a {fmt.name.removesuffix('_pipe').upper()} image"
    return f"{fmt.long_name or fmt.name} data"
