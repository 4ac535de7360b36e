"""The built wheel, installed in a fresh venv beside PyPI's `app`, `media`, `storage` and `resources`.

Those projects own the top-level names LabelDesk once installed; now it claims only
`labeldesk`, so neither they, nor a user's own `app/` and `storage/` folders on the path,
can break it (and uninstalling one of them deletes none of our files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SQUATTERS = ("app", "media", "storage", "resources")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel CI built (LABELDESK_WHEEL), or one built here from the checkout."""
    given = os.environ.get("LABELDESK_WHEEL")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)], cwd=out)
    return next(out.glob("labeldesk-*.whl"))


@pytest.fixture(scope="module")
def venv_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The venv sees the dependencies installed here (PySide6 alone is 600 MB) but holds its own
    # labeldesk and the four squatters, which shadow anything of the same name outside it.
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, system_site_packages=True, with_pip=True)
    python = home / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps"]
    _run([*pip, "--force-reinstall", str(wheel)], cwd=home)
    _run([*pip, *SQUATTERS], cwd=home)
    return python


def test_the_wheel_holds_every_module_and_resource_of_the_checkout(wheel: Path) -> None:
    """pyproject lists the packages one by one (the repository root is the package): none may be forgotten."""
    folders = ("app", "widgets", "media", "storage", "resources")
    expected = {"labeldesk/__init__.py", "labeldesk/__main__.py"} | {
        f"labeldesk/{path.relative_to(ROOT).as_posix()}"
        for folder in folders for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and (path.suffix == ".py" or folder == "resources" or path.suffix == ".mako")
    }
    with zipfile.ZipFile(wheel) as archive:
        held = {name for name in archive.namelist() if name.startswith("labeldesk/")}
    assert expected - held == set()


def _project_folder(tmp_path: Path) -> Path:
    """A user's project with its own `app` and `storage` packages, run with itself on PYTHONPATH."""
    folder = tmp_path / "my-project"
    for name in ("app", "storage"):
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text("raise ImportError('the user\\'s own package, not LabelDesk')\n")
    rows = [{"id": f"q{i}", "kind": "instruction", "messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(3)]
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_the_wheel_works_beside_squatting_packages_and_a_users_own_app_folder(venv_python: Path, tmp_path: Path) -> None:
    folder = _project_folder(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(folder), "LABELDESK_WORKSPACE": str(tmp_path / "ws")}
    bin_dir = venv_python.parent
    labeldesk = [str(bin_dir / "labeldesk")]

    _run([*labeldesk, "init", str(tmp_path / "ws")], cwd=folder, env=env)
    _run([*labeldesk, "project", "create", "qa", "--kind", "instruction"], cwd=folder, env=env)
    imported = json.loads(_run([*labeldesk, "import", "items.jsonl", "--project", "qa", "--json"], cwd=folder, env=env).stdout)
    assert imported["imported"] == 3
    _run([*labeldesk, "export", "--project", "qa", "--out", "out.jsonl"], cwd=folder, env=env)
    assert [json.loads(line)["id"] for line in (folder / "out.jsonl").read_text().splitlines()] == ["q0", "q1", "q2"]

    # the module entry point and the API come from the venv's wheel, not from the squatters or the checkout
    probe = "import labeldesk; print(labeldesk.__file__); print(labeldesk.list_projects(labeldesk.open_workspace(%r))[0].name)"
    shown = _run([str(venv_python), "-c", probe % str(tmp_path / "ws")], cwd=tmp_path, env={**os.environ}).stdout.split()
    assert str(bin_dir.parent) in shown[0] and shown[1] == "qa"
    assert _run([str(venv_python), "-m", "labeldesk", "--version"], cwd=folder, env=env).stdout.startswith("labeldesk ")


def test_uninstalling_a_squatter_leaves_labeldesk_whole(venv_python: Path, tmp_path: Path) -> None:
    _run([str(venv_python), "-m", "pip", "uninstall", "-y", "-q", "resources"], cwd=tmp_path)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    shown = json.loads(_run([str(venv_python.parent / "labeldesk"), "demo", "--no-gui", "--json"], cwd=tmp_path, env=env).stdout)
    assert shown["workspace"] == str(tmp_path / "data" / "labeldesk" / "demo")
    assert len(shown["created"]) == 7
