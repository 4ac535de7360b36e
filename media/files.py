"""Atomic file replacement shared by the writers of the media layer."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(dst: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Let `write` create a temporary file beside dst, then rename it over dst.

    Readers see the old file or the complete new one, never a half-written
    one; a failed write leaves nothing behind. The temporary name keeps dst's
    extension because soundfile and PyAV pick formats by it, and the file is
    created by the writer itself, so it gets the usual permissions.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.{secrets.token_hex(6)}.tmp{dst.suffix}")
    try:
        write(tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
