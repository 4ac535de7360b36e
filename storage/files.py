"""Atomic file writes, and scratch folders that a killed process does not leave behind for good.

A file is either the old one or the complete new one, never half. Its temporary, and every
scratch folder, is named `…labeldesk-<host>-<pid>-<random>…` and locked (flock) by the process
using it. A process killed mid-write leaves them behind; the next one writing into the same
folder removes those of the same kind that provably belong to nobody: not locked, and either
made on this host by a process that is gone, or older than a day (a PID may have been reused,
or the folder is shared with another host). Anything else, whatever its name, is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows has no advisory locks: nothing there is ever judged stale
    fcntl = None

MARK = "labeldesk"
STALE_AFTER = 24 * 3600  # seconds: an unlocked temporary this old is nobody's, whatever its PID says
_OWNER = r"(?P<host>[A-Za-z0-9]+)-(?P<pid>\d{1,10})-[a-z0-9_]+"  # what tempfile adds after our prefix
_FILE_TEMP = re.compile(rf"\..*\.{MARK}-{_OWNER}\.tmp.*\Z", re.DOTALL)
_swept: set[tuple[str, str]] = set()  # (folder, pattern) this process swept: once each, however many files it writes


def _host() -> str:
    """This host as temporary names spell it: letters and digits only, so that the name parses back."""
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24] or "host"


def _owner_prefix() -> str:
    return f"{_host()}-{os.getpid()}-"


def _hold(fd: int) -> int | None:
    """Lock the file `fd` is open on for as long as it stays open; returns it, or None (closed) without locks."""
    if fcntl is None:
        os.close(fd)  # a writer on Windows must be able to open and rename the file
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass  # a file system without locks: the PID in the name still tells
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or no PID at all: nothing proves it dead
    return True


def _remove_if_stale(path: Path, host: str, pid: int) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return  # gone meanwhile, or not ours to open
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lockable = True
        except BlockingIOError:
            return  # its owner is at work
        except OSError:
            lockable = False  # no locks here: only a dead PID proves anything
        dead = host == _host() and not _alive(pid)
        old = lockable and time.time() - os.fstat(fd).st_mtime > STALE_AFTER
        if (dead or old) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif dead or old:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)  # held until removed: an owner never takes its lock again, so nobody can come back


def _sweep(folder: Path, pattern: re.Pattern[str]) -> None:
    """Remove the stale temporaries in `folder` whose names match `pattern` (see the module's doc)."""
    key = (os.path.abspath(folder), pattern.pattern)
    if fcntl is None or key in _swept:
        return
    _swept.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        found = pattern.match(entry.name)
        if found and not entry.is_symlink():
            _remove_if_stale(Path(entry.path), found["host"], int(found["pid"]))


def _umask() -> int:
    """The process umask, read without changing it where the system allows (setting it races other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target.parent, _FILE_TEMP)
    # the temporary name keeps the target's extension: some writers pick their format by it
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.{MARK}-{_owner_prefix()}", suffix=f".tmp{target.suffix}",
                               dir=target.parent)
    lock = _hold(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: the result gets the mode any new file would
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _release(lock)


@contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_writer(target) as fh:
        fh.write(data)


@contextmanager
def scratch_dir(kind: str, parent: Path | None = None) -> Iterator[Path]:
    """A private folder for one operation's work files, removed afterwards.

    It is `labeldesk-<kind>-…` in the system's temporary folder, or `.labeldesk-<kind>-…`
    (hidden) in `parent`, where it can be renamed into place. Dead ones of the same kind
    there are swept first.
    """
    folder = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    prefix = f"{'.' if parent is not None else ''}{MARK}-{kind}-"
    _sweep(folder, re.compile(re.escape(prefix) + _OWNER + r"\Z"))
    path = Path(tempfile.mkdtemp(prefix=prefix + _owner_prefix(), dir=folder))
    lock = _hold(os.open(path, os.O_RDONLY)) if fcntl is not None else None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        _release(lock)
