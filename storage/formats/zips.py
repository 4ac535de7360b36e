"""Unpacking zipped packages: every entry is checked before a byte is written.

A zip says what it holds (names, sizes, methods) in its central directory, and nothing
checks that it tells the truth. So memory and disk stay bounded whatever it claims:
the entry count, the total unpacked size and each entry's compression ratio have caps
(module settings, so a deployment can change them), and each entry is written through
zipfile's reader, which stops at the size the entry declares and checks its CRC. Every
refusal is an InputError naming the zip and the entry.
"""

from __future__ import annotations

import lzma
import posixpath
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

from labeldesk.storage.formats.errors import InputError, cut

MAX_MEMBERS = 100_000
"""Entries one zip may hold."""

MAX_TOTAL_BYTES = 20 * 1024**3
"""Bytes all entries of one zip may unpack to (20 GiB)."""

MAX_RATIO = 200
"""How many times its packed size an entry may unpack to (text packs 5-20x; bombs 1000x)."""

RATIO_FREE_BYTES = 1024**2
"""Entries smaller than this may pack as well as they like: the total cap bounds them anyway."""

MAX_DEPTH = 64
"""Folders an entry may be nested in."""

MAX_NAME_BYTES = 1024
"""The longest entry name (UTF-8 bytes); each part of it must also fit a file system's 255."""

_DRIVE = re.compile(r"^[A-Za-z]:")  # C:... lands outside the target on Windows
_PART_BYTES = 255  # NAME_MAX of every common file system
_METHODS = {
    zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma",
}
_UNSUPPORTED = {9: "deflate64", 99: "AES encryption", 93: "zstandard", 95: "xz", 98: "ppmd"}
# what zipfile and its decompressors raise on damaged data (bad CRC, garbage streams, sizes that lie)
_DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, NotImplementedError,
           RuntimeError, struct.error)


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a zip into `target`, refusing it whole when any entry breaks a rule or a limit."""
    try:
        zf = zipfile.ZipFile(archive)
    except (*_DAMAGE, OverflowError) as exc:
        raise InputError(archive.name, "", f"not a readable zip file ({cut(str(exc))})") from None
    root = target.resolve()
    with zf:
        plan = _checked_plan(archive, zf, root)
        for info, dest in plan:
            _write_entry(archive, zf, info, dest)
    return root


def _checked_plan(archive: Path, zf: zipfile.ZipFile, root: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    """(entry, destination) for every entry, once all of them passed every check."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(archive.name, "", f"holds {len(infos):,} entries; the limit is {MAX_MEMBERS:,} (zips.MAX_MEMBERS)")
    plan: list[tuple[zipfile.ZipInfo, Path]] = []
    seen: dict[str, str] = {}  # destination, case-folded (as Windows and macOS compare names) -> entry name
    total = 0
    for info in infos:
        dest = _destination(archive, info, root)
        key = str(dest).casefold()
        if key in seen:
            raise InputError(archive.name, info.filename, f"a second entry named {cut(seen[key])!r}; "
                             "unpacking would silently keep only one of them")
        seen[key] = info.filename
        if not info.is_dir():
            _check_method(archive, info)
            _check_ratio(archive, info)
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise InputError(archive.name, info.filename, f"the entries unpack to more than {MAX_TOTAL_BYTES:,} "
                                 "bytes, the limit (zips.MAX_TOTAL_BYTES)")
        plan.append((info, dest))
    _check_files_are_not_folders(archive, plan)
    return plan


def _destination(archive: Path, info: zipfile.ZipInfo, root: Path) -> Path:
    name = info.filename
    is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
    normal = posixpath.normpath(name.replace("\\", "/")) if name else ""
    outside = not normal or name.startswith(("/", "\\")) or normal == ".." or normal.startswith("../") or _DRIVE.match(normal)
    if is_link or outside:
        raise InputError(archive.name, name, "entry would be written outside the target folder; nothing was extracted")
    parts = normal.split("/")
    if len(parts) > MAX_DEPTH:
        raise InputError(archive.name, name, f"entry is nested {len(parts) - 1} folders deep; the limit is {MAX_DEPTH} (zips.MAX_DEPTH)")
    if any(len(part.encode("utf-8", "surrogatepass")) > _PART_BYTES for part in parts):
        raise InputError(archive.name, name, f"a folder or file name in it is longer than {_PART_BYTES} bytes")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise InputError(archive.name, name, f"entry name is longer than {MAX_NAME_BYTES} bytes (zips.MAX_NAME_BYTES)")
    return root.joinpath(*parts)


def _check_method(archive: Path, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise InputError(archive.name, info.filename, "entry is encrypted (password-protected); unpack it and zip it again without a password")
    if info.compress_type not in _METHODS:
        method = _UNSUPPORTED.get(info.compress_type, f"method {info.compress_type}")
        raise InputError(archive.name, info.filename, f"entry is compressed with {method}, which cannot be read; "
                         f"zip it again with {', '.join(_METHODS.values())}")


def _check_ratio(archive: Path, info: zipfile.ZipInfo) -> None:
    if info.file_size >= RATIO_FREE_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise InputError(archive.name, info.filename, f"entry claims to unpack to {ratio:,.0f} times its packed size; "
                         f"the limit is {MAX_RATIO} (zips.MAX_RATIO)")


def _check_files_are_not_folders(archive: Path, plan: list[tuple[zipfile.ZipInfo, Path]]) -> None:
    """A file entry that another entry puts files inside could not be unpacked as both."""
    files = {dest: info.filename for info, dest in plan if not info.is_dir()}
    for info, dest in plan:
        for parent in dest.parents:
            if parent in files:
                raise InputError(archive.name, info.filename, f"lies inside {cut(files[parent])!r}, which is a file entry")


def _write_entry(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    try:
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        # zipfile's reader yields at most the declared size and checks the CRC at the end
        with zf.open(info) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, 1024**2)
            written = out.tell()
    except _DAMAGE as exc:
        raise InputError(archive.name, info.filename, f"entry cannot be unpacked ({cut(str(exc) or type(exc).__name__)})") from None
    if written != info.file_size:  # the data ended early, and the CRC was of what there was
        raise InputError(archive.name, info.filename, f"entry unpacks to {written:,} bytes, but its header says {info.file_size:,}")
