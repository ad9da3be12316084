"""The entry point: parse, dispatch, and turn every user error into a message and an exit
status, never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.markup import escape

from sim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    err,
    on_sigterm,
    say_engine_once,
)
from sim.cli.fitting import cmd_fit
from sim.cli.parser import build_parser
from sim.cli.single import cmd_export, cmd_report, cmd_run, cmd_schema, cmd_validate
from sim.cli.studies import cmd_compare, cmd_optimize, cmd_stress, cmd_sweep
from sim.errors import ScenarioError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fit": cmd_fit,
    "run": cmd_run,
    "validate": cmd_validate,
    "sweep": cmd_sweep,
    "stress": cmd_stress,
    "compare": cmd_compare,
    "report": cmd_report,
    "export": cmd_export,
    "optimize": cmd_optimize,
    "schema": cmd_schema,
}


def os_error_text(exc: OSError) -> str:
    """An operating-system error in words: the file (a temporary name capsim writes through
    is shown as the file it stands for) and the reason, never a raw errno."""
    if exc.strerror is None:  # raised with a message of capsim's own
        return str(exc) or type(exc).__name__
    reason = exc.strerror
    name = exc.filename
    if name is None:
        return reason
    path = Path(str(name))
    hidden = path.name.startswith(".") and path.name.count(".") >= 2
    shown = path.parent / path.name[1:].rsplit(".", 1)[0] if hidden else path
    return f"{shown}: cannot write or read it: {reason}"


def check_args(args: argparse.Namespace) -> None:
    """Options that only make sense together, or once: refused before any work."""
    if getattr(args, "scheduler", None) and getattr(args, "backend", "local") != "dask":
        raise ScenarioError(
            "--scheduler", args.scheduler, "needs --backend dask (the local backend has none)"
        )
    pools = list(getattr(args, "pool", None) or [])
    if args.command == "optimize" and len(set(pools)) != len(pools):
        twice = next(p for p in pools if pools.count(p) > 1)
        raise ScenarioError("--pool", twice, "is given twice: name each pool once")
    for text in getattr(args, "overrides", None) or []:
        if "\n" in text or "\r" in text:
            raise ScenarioError(
                "--set",
                text.splitlines()[0] if text.splitlines() else text,
                "holds a line break: give one KEY=VALUE per --set",
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``capsim`` console script."""
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        check_args(args)
        if args.command in ("run", "sweep", "stress", "optimize", "compare"):
            say_engine_once()
        with contextlib.ExitStack() as held:  # output folders held until the command ends
            args.held = held
            return COMMANDS[args.command](args)
    except ScenarioError as exc:
        err.print(f"[red]capsim: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except OSError as exc:  # a file that cannot be read or written: the user's to fix
        text = os_error_text(exc)
        err.print(f"[red]capsim: error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("capsim: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        err.print("capsim: terminated")
        return EXIT_TERMINATED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
