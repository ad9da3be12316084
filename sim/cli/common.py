"""What every command shares: exit codes, the two consoles, argument types, the progress
bar, loading a scenario with a clear error, output folders and interrupted work."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that workers are stopped and work is kept."""


def on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM's handler: raise :class:`Terminated`, so a study stops as on Ctrl-C (keeping
    its finished blocks)."""
    raise Terminated


err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 132)  # tables stay whole in logs and pipes


class Parser(argparse.ArgumentParser):
    """argparse's parser, saying a usage error in red on stderr and exiting with EXIT_USAGE."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        err.print(f"[red]capsim: error:[/] {escape(message)}", highlight=False)
        raise SystemExit(EXIT_USAGE)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low`` (and <= ``high``)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number >= {low}, got {text!r}"
            ) from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(
                f"must be <= {high:,} (a replication takes seconds; a study of more would "
                f"run for weeks), got {v:,}"
            )
        return v

    return parse


MAX_REPLICATIONS = 1_000_000
"""Most replications one command takes (-n, --max-replications, --holdout, --budget)."""


def positive_pct(text: str) -> float:
    """An argparse type: a finite number > 0 (a percentage)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


positive_int = whole_number(1)
replications_arg = whole_number(1, MAX_REPLICATIONS)
seed_arg = whole_number(0)


@contextmanager
def resumable(folder: Path, what: str, out_dir: Path, partial: bool = False) -> Iterator[None]:
    """The one way a resumable study (run, sweep, stress, optimize, compare) ends early.

    On Ctrl-C or SIGTERM, or when its blocks cannot be written (a full disk, a file-size
    limit), it says how many finished blocks ``folder/chunks`` keeps (a sweep's or
    optimisation's --out; a run's, stress study's or comparison's hidden partial) and that
    the same command with --resume completes the ``what``; a write failure is an error
    naming --out (exit 2), an interrupt exits as one.

    A hidden ``partial`` folder that holds no finished block when the work fails or stops
    (a refused value found by a worker, an interrupt in the first seconds) is removed: a
    failed run with nothing finished leaves nothing behind, and the next run into the same
    --out is not refused as an interrupted one."""
    from sim.store import FramesStore, drop_partial

    try:
        yield
    except BaseException as exc:
        kept = FramesStore(folder).count()
        if partial and kept == 0:
            drop_partial(folder)
        stopped = isinstance(exc, KeyboardInterrupt | Terminated)
        if not stopped and not isinstance(exc, OSError):
            raise
        if kept or not partial:  # a sweep's --out stays, blocks or not: it needs --resume
            fix = "fix it and " if not stopped else ""
            then = (
                f"{kept} finished blocks are kept in {folder}: "
                f"{fix}run the same command with --resume to complete the {what}"
            )
        else:
            then = f"no block of the {what} had finished; nothing kept"
        if stopped:
            err.print(escape(f"capsim: stopped; {then}"), highlight=False)
            raise
        assert isinstance(exc, OSError)
        reason = exc.strerror or str(exc)
        raise ScenarioError(str(out_dir), "", f"cannot write {out_dir}: {reason}; {then}") from None


class Bar:
    """A rich progress bar with ETA on stderr, whose total can grow (``--target-ci`` adds
    replications)."""

    def __init__(self, label: str, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("•"),
            TimeElapsedColumn(),
            TextColumn("• ETA"),
            TimeRemainingColumn(),
            console=err,
        )
        self.task = self.progress.add_task(label, total=0)
        self.started = time.monotonic()
        self.estimated = False

    def grow(self, k: int) -> None:
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + k)

    def advance(self, k: int) -> None:
        self.progress.advance(self.task, k)
        task = self.progress.tasks[0]
        done, total = task.completed, task.total or 0
        if not self.estimated and 0 < done < total:
            # one line that stays in the log after the bar is gone: the whole job's size
            self.estimated = True
            took = time.monotonic() - self.started
            left = eta_seconds(took, done, total, self.workers)
            self.progress.console.print(
                f"capsim: the first {done:g} of {total:g} runs took {_duration(took)}; "
                f"about {_duration(left)} to go",
                highlight=False,
            )


def eta_seconds(took: float, done: float, total: float, workers: int) -> float:
    """Seconds left when the first ``done`` replications finished after ``took`` seconds.

    With ``workers`` processes, the first block to finish had ``workers − 1`` others running
    beside it since the start, nearly as far along: about ``workers × done`` replications'
    work is behind us, not ``done`` (counting only the finished block made the first
    estimate about ``workers`` times too long)."""
    behind = min(total, done * max(1, workers))
    return took / behind * (total - behind) if behind > 0 else math.inf


def _duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def load_for_command(path: Path, args: argparse.Namespace) -> Scenario:
    """The scenario at ``path`` with the command's ``--set`` overrides, its data files read
    as ``--allow-external-data`` says."""
    try:
        scenario = load_scenario(
            path, list(args.overrides), allow_external_data=bool(args.allow_external_data)
        )
    except ScenarioError as exc:
        if exc.path == "pools" and "required" in exc.message:
            raise ScenarioError(
                exc.where,
                exc.path,
                f"{exc.message} (a stress file? check it with "
                f"capsim validate {path} --base SCENARIO.toml)",
            ) from None
        raise
    from sim.workload import check_volumes

    check_volumes(scenario)  # before any folder is made: a refused run leaves nothing
    warn(scenario)
    return scenario


def study_dir(args: argparse.Namespace, scenario: Scenario, kind: str) -> Path:
    """The study's --out (default ``runs/<scenario>[-kind]``), held for the command's life
    when the command was given a cleanup stack (``args.held``, set by :func:`main`)."""
    if args.out is not None:
        out = Path(args.out)
    else:
        suffix = "" if kind == "run" else f"-{kind}"
        out = Path("runs") / f"{scenario.name}{suffix}"
    held = getattr(args, "held", None)
    if held is not None:
        from sim.store import holding

        held.enter_context(holding(out))
    return out


def param_text(p: Any) -> str:
    """A scenario parameter for a table: its mean, and whether it is drawn per replication."""
    d = p.dist
    return f"{d.mean():.3g}" if d.is_fixed else f"{d.mean():.3g} (mean; drawn per run)"


def warn(scenario: Scenario) -> None:
    """Print the scenario's load warnings on stderr, each with the file it came from."""
    for w in scenario.warnings:
        err.print(
            f"[yellow]capsim: warning:[/] {escape(f'{scenario.source}: {w}')}", highlight=False
        )


def write_report(directory: Path, pdf: bool = False, paper: str | None = None) -> None:
    """Write the HTML (and with ``pdf``, PDF) report of a run or study directory and say where."""
    from sim import report, store

    store.check_folder(directory)
    page = report.write_report(directory, pdf=pdf, paper=paper)
    out.print(f"wrote {page}")
    if pdf:
        out.print(f"wrote {page.with_suffix('.pdf')}")


def warn_text(text: str) -> None:
    """Print one warning on stderr."""
    err.print(f"[yellow]capsim: warning:[/] {escape(text)}", highlight=False)


def warn_certainty(constraints: Sequence[Any], n: int) -> None:
    """Up front: a chance constraint at level p cannot be shown met with 95 % confidence
    at fewer than z² p / (1 − p) replications (even n of n falls short)."""
    from sim.sweep import replications_for_certainty

    for c in constraints:
        if getattr(c, "kind", "") != "chance":
            continue
        need = replications_for_certainty(c.level)
        if n < need:
            warn_text(
                f"{c}: at {n} replications a point can meet it in every run and still not be "
                f"shown to meet it (Wilson 95 %); that takes at least {need} replications"
            )


def say_engine_once() -> None:
    """Once per machine and engine source: the engine runs interpreted though nobody asked
    (no C compiler at install, or an engine file edited since): same results, slower."""
    import os

    from sim.engine import native

    if native.Status.compiled or os.environ.get(native.PURE_ENV) == "1":
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "capsim"
    marker = cache / f"said-interpreted-{native.digest()}"
    if marker.exists():
        return
    err.print(
        f"capsim: note: the engine runs {native.Status.reason}; the results are the same, "
        "only slower (said once)",
        highlight=False,
    )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
