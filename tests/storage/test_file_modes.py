"""Files we write get the mode any new file would get under the user's umask (mkstemp alone makes 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from labeldesk.storage.files import atomic_write_bytes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "out.json", b"{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out.json") == expected


def test_exports_packages_and_zip_members_are_readable_by_others_under_umask_022(tmp_path: Path) -> None:
    rows = "".join(f'{{"id": "q{i}", "kind": "instruction", "messages": [{{"role": "user", "content": "Q{i}?"}}]}}\n'
                   for i in range(3))
    script = f"""
import os, sys
os.umask(0o022)
from labeldesk.app.cli import main
ws = {str(tmp_path / 'ws')!r}
for argv in (["init", ws], ["project", "create", "qa", "--kind", "instruction", "-w", ws],
             ["import", {str(tmp_path / 'items.jsonl')!r}, "--project", "qa", "-w", ws],
             ["export", "--project", "qa", "--out", {str(tmp_path / 'out.jsonl')!r}, "-w", ws],
             ["export", "--project", "qa", "--package", {str(tmp_path / 'pkg')!r}, "-w", ws],
             ["export", "--project", "qa", "--package", {str(tmp_path / 'pkg.zip')!r}, "-w", ws]):
    assert main(argv) == 0, argv
"""
    (tmp_path / "items.jsonl").write_text(rows)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=120)
    assert _mode(tmp_path / "out.jsonl") == 0o644
    assert _mode(tmp_path / "pkg") == 0o755
    package = [p for p in (tmp_path / "pkg").rglob("*")]
    assert package and all(_mode(p) == (0o755 if p.is_dir() else 0o644) for p in package)
    assert _mode(tmp_path / "pkg.zip") == 0o644
    with zipfile.ZipFile(tmp_path / "pkg.zip") as archive:
        assert {(info.external_attr >> 16) & 0o777 for info in archive.infolist()} == {0o644}
