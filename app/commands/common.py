"""What every command shares: consoles, JSON output, progress bars (and nothing heavier: see parser.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

STDIO = "-"  # a file argument that means standard input or output


def _console(stderr: bool) -> Console:
    piped = not (sys.stderr if stderr else sys.stdout).isatty()
    # Piped output is read by programs and grep, not people: never cut or wrap it at a guessed 80 columns.
    return Console(stderr=stderr, width=1_000_000 if piped else None, soft_wrap=piped)


console = _console(stderr=True)
out = _console(stderr=False)


class CommandError(Exception):
    """A failure to report in one line, exit status 1."""


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int | None], None]]:
    """A progress callback for workflow functions, drawn on stderr when it is a terminal."""
    if not enabled or not console.is_terminal:
        yield lambda done, total: None
        return
    columns = (SpinnerColumn(), TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
