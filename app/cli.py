"""The `labeldesk` command line: the same operations the window uses, for scripts and servers.

Every command takes `--workspace PATH|URL` (or LABELDESK_WORKSPACE), prints a one-line
reason and exits non-zero on error, and offers `--json` where its output is data. Only the
chosen command's handler module is imported, so `--help` starts as fast as Python does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence

from labeldesk import __version__
from labeldesk.app.commands.parser import build_parser

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer killed by SIGPIPE
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug of ours, not the user's input


def _handler(args: argparse.Namespace) -> Callable[[argparse.Namespace], None]:
    module, name = args.handler.split(":")
    return getattr(importlib.import_module(f"labeldesk.app.commands.{module}"), name)


def _expected(exc: BaseException) -> bool:
    """Failures the user can act on, as opposed to bugs: ours, bad values, and the file system's."""
    return isinstance(exc, (ValueError, OSError)) or type(exc).__module__.startswith("labeldesk.")


def report_error(message: str) -> None:
    """One line on stderr, whatever the terminal width, so logs and grep see the whole reason."""
    line = " ".join(message.split()) if not sys.stderr.isatty() else message
    sys.stderr.write(f"labeldesk: error: {line}\n")
    sys.stderr.flush()


def _internal_error(exc: BaseException) -> int:
    """A bug: one line for the user, the whole traceback in a file for the report they will send us."""
    import platformdirs  # only on this path: --help must stay light
    import traceback

    folder = platformdirs.user_log_path("labeldesk")
    folder.mkdir(parents=True, exist_ok=True)
    crash = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    crash.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    report_error(f"internal error ({type(exc).__name__}: {str(exc)[:80]}); please report it with {crash}")
    return EXIT_INTERNAL


def _quiet_broken_pipe() -> int:
    # Output cut off by `| head`: point stdout at /dev/null so the interpreter's final flush cannot fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(__version__).parse_args(argv)
    try:
        _handler(args)(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        report_error("interrupted; nothing half-written was kept")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not _expected(exc):
            return _internal_error(exc)
        report_error(str(exc))
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
