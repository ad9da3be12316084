"""The ``capsim`` command line: run, validate, sweep, stress, report.

The only module that prints. Every user error (a bad scenario, file or option) ends
with one or a few lines on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
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
from rich.table import Table

from sim import __version__, fmt
from sim.calendar import years
from sim.errors import ScenarioError
from sim.results import RunResult
from sim.scenario import ALLOW_EXTERNAL_DATA, Scenario, load_scenario

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that workers are stopped and work is kept."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 132)  # tables stay whole in logs and pipes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        err.print(f"[red]capsim: error:[/] {escape(message)}", highlight=False)
        raise SystemExit(EXIT_USAGE)


def _whole(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number >= {low}, got {text!r}"
            ) from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        return v

    return parse


_positive_int = _whole(1)
_seed = _whole(0)


@contextmanager
def _keep_on_interrupt(folder: Path, what: str) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, say how many finished blocks ``folder/chunks`` keeps and how to
    go on (a sweep's or optimisation's --out; a run's or stress study's hidden partial)."""
    try:
        yield
    except (KeyboardInterrupt, Terminated):
        from sim.store import FramesStore

        kept = FramesStore(folder).count()
        err.print(
            escape(
                f"capsim: stopped; {kept} finished blocks are kept in {folder}: "
                f"run the same command with --resume to complete the {what}"
            ),
            highlight=False,
        )
        raise


def _objective_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--objective",
        default="mean",
        metavar="mean|pN|cvarN",
        help="what to minimise of --metric across runs: mean; pN, its N-th percentile "
        "(p90); or cvarN, the mean of its worst 100-N %% (cvar95) (default: mean)",
    )
    p.add_argument(
        "--metric",
        default="spend_usd.total",
        help="the metric the objective is taken of (default: spend_usd.total; "
        "npv_usd.total is the other natural one)",
    )
    p.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="C",
        help="a condition a size must meet; repeatable. METRIC<=X or METRIC>=X on the mean "
        "across runs (wait_hours.experiments.p95<=24); pN(METRIC)<=X on a percentile across "
        "runs (p90(spend_usd.total)<=4.5e9); P(METRIC<=X)>=LEVEL, a chance constraint on "
        "the share of runs (P(wait_hours.experiments.p95<=24)>=0.9)",
    )


def _backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=("local", "dask"),
        default="local",
        help="local processes, or a Dask cluster (default: local)",
    )
    p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")


def _external_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-external-data",
        action="store_true",
        help="let the scenario read data files outside its own folder",
    )


def _set_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=text
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-n", "--replications", type=_positive_int, help="replications (default: the scenario's)"
    )
    p.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    p.add_argument("--out", type=Path, help="output directory (default: runs/<scenario name>)")
    _set_option(p, "override one scenario key (dotted path, TOML value); repeatable")
    p.add_argument("--workers", type=_positive_int, help="local processes (default: all cores)")
    p.add_argument("--report", action="store_true", help="also write figures and report.html")
    _external_option(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier capsim output folder at --out (never a folder of other files)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="capsim",
        description="Monte Carlo simulation of multi-year reserved cloud-compute contracts.",
    )
    parser.add_argument("--version", action="version", version=f"capsim {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, help="what to do"
    )

    p = sub.add_parser("run", help="simulate a scenario and write a run directory")
    p.add_argument("scenario", type=Path, help="the scenario file (TOML)")
    _common(p)
    p.add_argument(
        "--record-jobs", action="store_true", help="write jobs.parquet (one row per job)"
    )
    _backend_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted run of --out (its finished blocks are kept)",
    )

    p = sub.add_parser(
        "validate",
        help="check a scenario (or a stress file over a base) and print what it holds",
    )
    p.add_argument("scenario", type=Path, help="a scenario, or a stress file with --base")
    p.add_argument(
        "--base",
        type=Path,
        help="the base scenario a stress file is merged over; shows the offered work of both",
    )
    _set_option(p, "override one key of the scenario (of the base, with --base); repeatable")
    _external_option(p)

    p = sub.add_parser("sweep", help="run a grid of contract sizes and recommend one")
    p.add_argument("scenario", type=Path, help="the scenario file (TOML)")
    _common(p)
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=START:STOP:STEP|V1,V2,...",
        help="a key to vary; repeat for a grid",
    )
    _objective_options(p)
    p.add_argument(
        "--vss",
        action="store_true",
        help="also run the grid with every uncertain input at its mean, and report what "
        "planning for the average would cost (the value of the stochastic solution)",
    )
    _backend_options(p)
    p.add_argument("--resume", action="store_true", help="complete an interrupted sweep in --out")
    p.add_argument(
        "--target-ci",
        type=float,
        metavar="PCT",
        help="add replications until the objective's 95%% CI half-width is below PCT%% of its mean",
    )
    p.add_argument(
        "--max-replications",
        type=_positive_int,
        default=2000,
        help="cap for --target-ci (default 2000)",
    )

    p = sub.add_parser("stress", help="run stress cases against the scenario")
    p.add_argument("scenario", type=Path, help="the base scenario file (TOML)")
    p.add_argument(
        "stress",
        type=Path,
        nargs="+",
        help="stress files: partial scenarios merged over the base, one case each",
    )
    _common(p)
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=...",
        help="re-optimize the contract for each case over this grid",
    )
    _objective_options(p)
    _backend_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted stress study of --out (its finished blocks are kept)",
    )

    p = sub.add_parser(
        "optimize",
        help="choose the reserved level of every contract year of the named pools",
        description="Choose the reserved level of every contract year of the named pools "
        "(whole instances) that minimises the objective under the constraints: sample-average "
        "approximation with common random numbers, started from the best uniform scale of the "
        "scenario's own ramp, then a pattern search on the lattice of instances; the result "
        "is evaluated again on --holdout fresh replications.",
    )
    p.add_argument("scenario", type=Path, help="the scenario file (TOML)")
    _common(p)
    p.add_argument(
        "--pool",
        action="append",
        default=[],
        required=True,
        help="a pool whose yearly reserved levels to choose; repeatable",
    )
    p.add_argument(
        "--shape",
        choices=("free", "flat", "non-decreasing"),
        default="free",
        help="free: any level each year; flat: one level for all years; non-decreasing: a "
        "ramp that never steps down (default: free)",
    )
    p.add_argument(
        "--commitment",
        action="store_true",
        help="also choose contract.commitment_usd among 0, the scenario's own and the "
        "thresholds of [contract] discount_tiers (a larger commitment buys a larger discount)",
    )
    p.add_argument(
        "--holdout",
        type=_whole(0),
        help="fresh replications the result, the scenario's own ramp and the best uniform "
        "scale are evaluated on at the end (default: as many as -n; 0: none)",
    )
    p.add_argument(
        "--budget",
        type=_positive_int,
        metavar="REPLICATIONS",
        help="stop the search when it has used this many replications (default: no limit)",
    )
    _objective_options(p)
    p.add_argument(
        "--resume", action="store_true", help="complete an interrupted optimisation in --out"
    )

    p = sub.add_parser(
        "report", help="figures and one HTML page for a run, sweep, stress or optimize directory"
    )
    p.add_argument("directory", type=Path, help="a run, sweep, stress or optimize output folder")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write report.pdf: the executive page, then one figure per page",
    )

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of the scenario format, for editors",
        description="Print the JSON Schema (draft 4) of the scenario format. Editors that "
        "read a '#:schema PATH' first line (Even Better TOML / taplo) then complete keys and "
        "flag typos as you type; the shipped configs point at docs/capsim.schema.json.",
    )
    p.add_argument(
        "--stress",
        action="store_true",
        help="the schema of a stress file: nothing required, relative values allowed",
    )

    p = sub.add_parser("export", help="tables for a spreadsheet (CSV files or one Excel workbook)")
    p.add_argument("directory", type=Path, help="a run, sweep, stress or optimize output folder")
    p.add_argument(
        "--format",
        choices=("csv", "xlsx"),
        default="csv",
        help="csv: DIR/export/<table>.csv; xlsx: DIR/export.xlsx, one sheet per table "
        "(default: csv)",
    )

    fit = sub.add_parser(
        "fit", help="fit workloads to history: a job log or an hourly usage series"
    )
    fsub = fit.add_subparsers(
        dest="fit_kind",
        required=True,
        parser_class=_Parser,
        help="jobs: a scheduler's job log; demand: an hourly usage series",
    )
    p = fsub.add_parser(
        "jobs",
        help="fit jobs workloads (arrival rate and growth, sizes, durations) to a job log",
        description="Fit jobs workloads to a job log (CSV with a header): submit (ISO "
        "timestamps) or submit_hours, units, and duration_hours or start and end "
        "(timestamps) or start_hours and end_hours.",
    )
    p.add_argument("log", type=Path, help="the job log (CSV)")
    p.add_argument(
        "--workload-column",
        metavar="COL",
        help="a column naming each job's workload: one workload per value (default: one "
        "workload named after the file)",
    )
    p.add_argument(
        "--units-column",
        metavar="COL",
        default="units",
        help="the column holding the units (chips, GPUs, vCPUs) each job held (default: units)",
    )
    _fit_options(p, "jobs")
    p = fsub.add_parser(
        "demand",
        help="fit a demand workload (level, growth, daily and weekly cycles, noise) to an "
        "hourly usage series",
        description="Fit a demand workload to an hourly usage series (CSV with a header, one "
        "row per hour in order), or find that replaying it fits better.",
    )
    p.add_argument("usage", type=Path, help="the hourly usage series (CSV)")
    p.add_argument(
        "--column", default="units", help="the column holding the demand (default: units)"
    )
    p.add_argument(
        "--time-column",
        metavar="COL",
        help="a timestamp column, one hour apart (default: hour, time, timestamp, datetime "
        "or date, if the file has one)",
    )
    p.add_argument(
        "--workload", help="the workload's name in the fragment (default: the file's name)"
    )
    _fit_options(p, "demand")
    return parser


def _fit_options(p: argparse.ArgumentParser, kind: str) -> None:
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FRAGMENT.toml",
        help="where to write the fitted scenario fragment; its fit report goes to the "
        "folder FRAGMENT-report/ beside it",
    )
    p.add_argument(
        "--start",
        metavar="DATE|HOURS",
        help="the scenario's hour 0, where the fitted rate or level is quoted: a date for "
        "logs with timestamps (2026-07-01), hours on the log's own axis otherwise "
        "(default: the end of the history)",
    )
    p.add_argument(
        "--pool",
        default="POOL",
        help="the pool the fitted workloads run on (default: POOL, a placeholder to replace)",
    )
    p.add_argument(
        "--name",
        help="the fragment's [scenario] name (default: fitted-<file name>)",
    )
    if kind == "jobs":
        p.add_argument(
            "--uncertain",
            action="store_true",
            help="write the arrival rate and growth as distributions of their estimation "
            "error (drawn once per replication) instead of point estimates",
        )
    p.add_argument(
        "--no-report", action="store_true", help="write the fragment only, no fit report"
    )
    p.add_argument(
        "--force", action="store_true", help="replace an earlier fragment and its report"
    )


class _Bar:
    """A rich progress bar with ETA on stderr, whose total can grow (``--target-ci`` adds
    replications)."""

    def __init__(self, label: str) -> None:
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
            left = took / done * (total - done)
            self.progress.console.print(
                f"capsim: the first {done:g} of {total:g} runs took {_duration(took)}; "
                f"about {_duration(left)} to go",
                highlight=False,
            )


def _duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _load(path: Path, overrides: Sequence[str]) -> Scenario:
    try:
        scenario = load_scenario(path, list(overrides))
    except ScenarioError as exc:
        if exc.path == "pools" and "required" in exc.message:
            raise ScenarioError(
                exc.where,
                exc.path,
                f"{exc.message} (a stress file? check it with "
                f"capsim validate {path} --base SCENARIO.toml)",
            ) from None
        raise
    _warn(scenario)
    return scenario


def _out_dir(args: argparse.Namespace, scenario: Scenario, kind: str) -> Path:
    if args.out is not None:
        return Path(args.out)
    suffix = "" if kind == "run" else f"-{kind}"
    return Path("runs") / f"{scenario.name}{suffix}"


def summary_table(result: RunResult) -> Table:
    """The headline metrics of a run, for the terminal."""
    s = result.summary()
    sc = result.scenario
    table = Table(
        title=f"{sc.name}: {result.n} replications, {sc.years:g} years, seed {result.seed}",
        title_justify="left",
    )
    adj = result.adjusted()
    columns = [
        ("metric", "left"),
        (f"mean of {result.n} runs", "right"),
        ("95% CI of mean", "right"),
    ]
    if adj:
        columns.append(("adjusted mean [95% CI]", "right"))
    columns.append(("P10 – P90 (range)", "right"))
    for col, just in columns:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    if adj:
        table.caption = (
            "adjusted: control-variate estimate (the luck of arrivals and of the drawn "
            "parameters taken out): the same runs, a tighter interval"
        )
        table.caption_justify = "left"

    def row(label: str, key: str, f: Callable[[float], str]) -> None:
        if key not in s:
            return
        st = s[key]
        ci = "" if math.isnan(st["ci95_low"]) else f"{f(st['ci95_low'])} – {f(st['ci95_high'])}"
        cells = [label, f(st["mean"]), ci]
        if adj:
            a = adj.get(key)
            cells.append(f"{f(a['mean'])} [{f(a['ci95_low'])} – {f(a['ci95_high'])}]" if a else "")
        cells.append(f"{f(st['p10'])} – {f(st['p90'])}")
        table.add_row(*cells)

    row("total spend", "spend_usd.total", fmt.usd)
    row("  reserved", "spend_usd.reserved", fmt.usd)
    row("  overflow", "spend_usd.overflow", fmt.usd)
    for t in sc.overflow:
        row(f"    {t.name}", f"spend_usd.overflow.{t.name}", fmt.usd)
    for p in sc.pools.values():
        if s.get(f"spend_usd.overhang.{p.name}", {}).get("mean", 0.0) > 0:
            row(f"    overhang: {p.name} (on-demand)", f"spend_usd.overhang.{p.name}", fmt.usd)
    if sc.contract.commitment_usd:
        row("  shortfall (take-or-pay)", "spend_usd.shortfall", fmt.usd)
        row("commitment attainment", "commit_attainment", fmt.pct)
    row(f"net present value ({sc.contract.discount_rate:.0%}/yr)", "npv_usd.total", fmt.usd)
    row("effective savings rate vs on-demand", "esr", fmt.pct)
    for p in sc.pools.values():
        table.add_section()
        row(f"{p.name}: utilization", f"utilization.{p.name}", fmt.pct)
        row(f"{p.name}: coverage", f"coverage.{p.name}", fmt.pct)
        row(f"{p.name}: idle {p.unit}-hours", f"idle_unit_hours.{p.name}", fmt.quantity)
        row(f"{p.name}: idle spend", f"idle_spend_usd.{p.name}", fmt.usd)
        row(f"{p.name}: overflow {p.unit}-hours", f"overflow_unit_hours.{p.name}", fmt.quantity)
        if p.work_per_unit_hour:
            row(
                f"{p.name}: cost per million {p.work_unit}s",
                f"cost_per_work_unit_usd.{p.name}",
                lambda x: fmt.usd(x * 1e6),
            )
    for name, w in sc.workloads.items():
        table.add_section()
        if w.kind == "demand":
            row(f"{name}: unserved unit-hours", f"unserved_unit_hours.{name}", fmt.quantity)
            continue
        row(f"{name}: jobs", f"jobs_arrived.{name}", fmt.quantity)
        row(f"{name}: wait p50 (h, per run)", f"wait_hours.{name}.p50", fmt.quantity)
        row(f"{name}: wait p95 (h, per run)", f"wait_hours.{name}.p95", fmt.quantity)
        row(f"{name}: overflowed jobs", f"jobs_overflowed.{name}", fmt.quantity)
        row(f"{name}: unfinished at horizon", f"jobs_unfinished.{name}", fmt.quantity)
        row(f"{name}: still queued at horizon", f"jobs_censored.{name}", fmt.quantity)
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from sim import batch, store

    scenario = _load(args.scenario, args.overrides)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = _out_dir(args, scenario, "run")
    store.prepare_out(out_dir, store.inputs_of(scenario), force=args.force)  # before any work
    manifest = {
        "kind": "run",
        "scenario": scenario.name,
        "seed": seed,
        "replications": n,
        "record_jobs": args.record_jobs,
        **store.fingerprint(scenario),
    }
    partial = store.prepare_partial(out_dir, manifest, resume=args.resume, force=args.force)
    from sim.montecarlo import default_workers

    bar = _Bar(f"run {scenario.name}")
    bar.grow(n)
    blocks = store.FramesStore(partial)
    try:
        with bar.progress, _keep_on_interrupt(partial, "run"):
            parts = batch.execute_each(
                batch.run_blocks(scenario, seed, n, args.record_jobs),
                blocks,
                args.workers or default_workers(),
                args.backend,
                args.scheduler,
                bar.advance,
                task=batch.run_frames,
            )
    except OSError as exc:  # a full disk, a file-size limit: keep what finished, say so
        kept = blocks.count()
        if not kept:
            store.drop_partial(partial)
        hint = (
            f"; {kept} finished blocks are kept in {partial}: fix it and rerun with --resume"
            if kept
            else ""
        )
        reason = exc.strerror or str(exc)
        raise ScenarioError(str(out_dir), "", f"cannot write {out_dir}: {reason}{hint}") from None
    result = batch.combine(scenario, seed, parts)
    files = store.replace_dir(out_dir, lambda tmp: store.write_run(tmp, result, __version__))
    store.drop_partial(partial)  # the run is whole: its blocks are done with
    out.print(summary_table(result))
    out.print(f"wrote {out_dir}/ ({', '.join(f.name for f in files)})")
    if args.report:
        _report(out_dir)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    base = None
    if args.base is not None:
        from sim import stress

        base = _load(args.base, args.overrides)
        scenario = stress.load_case(base, args.scenario).scenario
    else:
        scenario = _load(args.scenario, args.overrides)
    if base is not None:
        _warn(scenario)
    over = f" (a stress case over {args.base})" if base is not None else ""
    out.print(
        f"[green]ok[/] {args.scenario}: scenario {scenario.name!r}{over}, "
        f"{scenario.years:g} years from {scenario.start}",
        highlight=False,
    )
    for p in scenario.pools.values():
        sched = ", ".join(fmt.quantity(r) for r in p.reserved)
        out.print(
            f"  pool {p.name}: {p.unit}, instances of {p.instance_units}, "
            f"reserved by year [{sched}]"
        )
    for t in scenario.overflow:
        dist = t.capacity.dist
        if not dist.is_fixed:
            cap = f"drawn per run (mean {fmt.quantity(dist.mean())})"
        else:
            cap = "unlimited" if math.isinf(dist.mean()) else fmt.quantity(dist.mean())
        out.print(f"  overflow {t.name} -> {t.pool}: capacity {cap}")
    for name, w in scenario.workloads.items():
        out.print(f"  workload {name}: {w.kind} on {w.pool}")
    out.print(f"  policy: queue {scenario.policy.queue}, placement {scenario.policy.placement}")
    c = scenario.contract
    if c.commitment_usd:
        commits = ", ".join(fmt.usd(x) for x in c.commitment_usd)
        out.print(
            f"  contract: commitment per {c.period} [{commits}], discount {fmt.pct(c.discount)}, "
            f"eligible targets: {', '.join(c.eligible_targets) or 'none'}"
        )
    for ch in scenario.changes:
        when = (
            f"from {years(ch.start_hours):g} y"
            if ch.kind == "step"
            else f"ramping {years(ch.start_hours):g}-{years(ch.end_hours):g} y"
        )
        out.print(f"  change: x{_param_text(ch.factor)} {when} on {', '.join(ch.workloads)}")
    for sh in scenario.shocks:
        out.print(
            f"  shocks: {_param_text(sh.per_year)} a year on {', '.join(sh.workloads)}, "
            f"factor mean {sh.factor.mean():.3g}, duration mean {sh.duration_years.mean():.3g} y"
        )
    out.print(offered_work_table(scenario, base))
    return 0


def _param_text(p: Any) -> str:
    d = p.dist
    return f"{d.mean():.3g}" if d.is_fixed else f"{d.mean():.3g} (mean; drawn per run)"


def _warn(scenario: Scenario) -> None:
    for w in scenario.warnings:
        err.print(
            f"[yellow]capsim: warning:[/] {escape(f'{scenario.source}: {w}')}", highlight=False
        )


def offered_work_table(scenario: Scenario, base: Scenario | None = None) -> Table:
    """Expected offered work per workload and contract year (and the change from a base)."""
    from sim.workload import offered_work_by_year

    work = offered_work_by_year(scenario)
    before = offered_work_by_year(base) if base is not None else None
    n_years = len(next(iter(work.values())))
    table = Table(
        title="expected offered work per contract year (unit-hours at reference speed)"
        + (f"; change from {base.name}" if base is not None else ""),
        title_justify="left",
    )
    table.add_column("workload")
    for y in range(n_years):
        table.add_column(f"year {y + 1}", justify="right")
    for name, w in work.items():
        unit = scenario.pools[scenario.workloads[name].pool].unit
        cells = [fmt.quantity(v) for v in w]
        if before is not None and name in before:
            cells = [
                f"{c} ({(v / b - 1) * 100:+.0f}%)" if b > 0 else c
                for c, v, b in zip(cells, w, before[name], strict=True)
            ]
        table.add_row(f"{name} ({unit})", *cells)
    return table


def _report(directory: Path, pdf: bool = False) -> None:
    from sim import report

    page = report.write_report(directory, pdf=pdf)
    out.print(f"wrote {page}")
    if pdf:
        out.print(f"wrote {page.with_suffix('.pdf')}")


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from sim.schema import scenario_schema

    sys.stdout.write(json.dumps(scenario_schema(stress=args.stress), indent=2) + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from sim import export

    files = export.export(args.directory, args.format)
    out.print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _report(args.directory, pdf=args.pdf)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim import grid, store, sweep

    scenario = _load(args.scenario, args.overrides)
    if not args.vary:
        raise ScenarioError("--vary", "", "a sweep needs at least one --vary KEY=...")
    axes = [grid.parse_vary(v) for v in args.vary]
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    sweep.parse_objective(args.objective)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = _out_dir(args, scenario, "sweep")
    grid.point_scenarios(scenario, grid.grid_points(axes))  # fail fast on a bad value
    store.prepare_out(out_dir, store.inputs_of(scenario), force=args.force, resume=args.resume)
    if args.force and not args.resume:
        store.clear_out(out_dir)
    store.check_manifest(
        out_dir,
        {
            "scenario": scenario.name,
            "seed": seed,
            "replications": n,
            "vary": [[a.key, list(a.values)] for a in axes],
            **store.fingerprint(scenario),
            "objective": args.objective,
            "metric": args.metric,
            "vss": args.vss,
            "target_ci": args.target_ci,
        },
        args.resume,
    )
    if args.target_ci is not None and args.target_ci <= 0:
        raise ScenarioError("--target-ci", str(args.target_ci), "must be > 0 (a percentage)")
    bar = _Bar(f"sweep {scenario.name}")
    from sim.montecarlo import default_workers

    with bar.progress, _keep_on_interrupt(out_dir, "sweep"):
        result = sweep.run_sweep(
            scenario,
            axes,
            n,
            seed,
            args.objective,
            constraints,
            workers=args.workers or default_workers(),
            backend=args.backend,
            scheduler=args.scheduler,
            store=store.FolderStore(out_dir),
            target_ci_pct=args.target_ci,
            max_replications=args.max_replications,
            progress=bar.advance,
            on_total=bar.grow,
            metric=args.metric,
            vss=args.vss,
        )
    store.write_sweep(out_dir, result.points, result.summary, scenario)
    out.print(sweep_table(result))
    out.print(f"wrote {out_dir}/ (points.parquet, summary.json, scenario.toml)")
    if args.report:
        _report(out_dir)
    return 0


def sweep_table(result: object) -> Table:
    """The frontier: objective and key metrics per point, the recommendation marked."""
    from sim.sweep import SweepResult

    assert isinstance(result, SweepResult)
    s = result.summary
    rec = s["recommended"]
    metric = s.get("objective_metric", "spend_usd.total")
    table = Table(
        title=f"sweep: {s['objective']} of {metric}, {s['replications']} replications per point",
        title_justify="left",
        caption_justify="left",
    )
    for k in result.keys:
        table.add_column(k, justify="right")
    pools = list(s["points"][0].get("reserved_units", {})) if s["points"] else []
    for pool in pools:
        table.add_column(f"{pool} reserved\nyear 1 / peak", justify="right")
    table.add_column("reserved\nspend", justify="right")
    table.add_column(f"{s['objective']}\n{metric}", justify="right")
    table.add_column("95% CI", justify="right")
    for c in s["constraints"]:
        table.add_column(escape(c), justify="center")
    for p in s["points"]:
        mark = rec is not None and all(p[k] == rec[k] for k in result.keys)
        lo, hi = p["objective_ci95"]
        units = p.get("reserved_units", {})
        row = [str(p[k]) for k in result.keys]
        row += [fmt.year1_and_peak(units[q]) for q in pools]
        row += [
            fmt.usd(p.get("reserved_spend_usd", math.nan)),
            fmt.metric_value(p["objective_value"], metric),
            f"{fmt.metric_value(lo, metric)} – {fmt.metric_value(hi, metric)}",
        ]
        row += [fmt.constraint_check(ch) for ch in p.get("constraints", [])]
        table.add_row(*row, style="bold green" if mark else None)
    if rec is None:
        table.caption = "no point meets every constraint"
    else:
        where = ", ".join(f"{k}={rec[k]}" for k in result.keys)
        units = "; ".join(
            f"{pool} {', '.join(fmt.quantity(u) for u in per)}"
            for pool, per in rec.get("reserved_units", {}).items()
        )
        table.caption = (
            f"recommended: {where} (reserved per contract year: {units}; reserved spend "
            f"{fmt.usd(rec.get('reserved_spend_usd', math.nan))})\n"
            f"regret against hindsight (what perfect foresight would save): mean "
            f"{fmt.usd(rec['regret_usd']['mean'])}, p95 {fmt.usd(rec['regret_usd']['p95'])}"
        )
        for note in rec.get("caveats", []):
            table.caption += f"\ncaution: {escape(note)}"
        v = s.get("value_of_stochastic_solution")
        if v is not None:
            choice = ", ".join(f"{k}={val}" for k, val in v["mean_value_choice"].items())
            d = v["vss_usd"]
            table.caption += (
                f"\nplanning for the average would choose {choice} and cost "
                f"{fmt.metric_change(d['mean'], metric)} more "
                f"(95% CI {fmt.metric_change(d['ci95_low'], metric)} to "
                f"{fmt.metric_change(d['ci95_high'], metric)})"
                + ("" if v["mean_value_choice_feasible"] else ", and it breaks a constraint")
            )
    for pool, nv in s.get("newsvendor", {}).items():
        table.caption += (
            f"\nnewsvendor reference for {pool}: {fmt.quantity(nv['level_units'])} units "
            f"(demand quantile {nv['critical_ratio']:.2f})"
        )
    if "precision" in s:
        pr = s["precision"]
        table.caption += (
            f"\nprecision: worst 95% half-width {pr['achieved_pct']:.2f}% of the objective "
            f"(target {pr['target_pct']:g}%) after {pr['replications']} replications: "
            + ("met" if pr["met"] else f"NOT met, cap {pr['cap']} reached")
        )
    return table


def cmd_optimize(args: argparse.Namespace) -> int:
    from sim import optimize, store, sweep
    from sim.montecarlo import default_workers

    scenario = _load(args.scenario, args.overrides)
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    holdout = n if args.holdout is None else args.holdout
    out_dir = _out_dir(args, scenario, "optimize")
    opt = optimize.Optimizer(
        scenario,
        args.pool,
        n,
        seed,
        args.objective,
        args.metric,
        constraints,
        args.shape,
        args.budget,
        args.workers or default_workers(),
        store.FolderStore(out_dir),
        commitment=args.commitment,
    )
    opt.check_metrics()
    store.prepare_out(out_dir, store.inputs_of(scenario), force=args.force, resume=args.resume)
    if args.force and not args.resume:
        store.clear_out(out_dir)
    store.check_manifest(
        out_dir,
        {
            "kind": "optimize",
            "scenario": scenario.name,
            "seed": seed,
            "replications": n,
            "holdout": holdout,
            "pools": list(args.pool),
            "shape": args.shape,
            "commitment": args.commitment,
            "budget": args.budget,
            "objective": args.objective,
            "metric": args.metric,
            "constraints": [str(c) for c in constraints],
            **store.fingerprint(scenario),
        },
        args.resume,
    )
    bar = _Bar(f"optimize {scenario.name}")
    bar.estimated = True  # the search decides its own length: no early estimate
    opt.progress = bar.advance
    opt.on_total = bar.grow
    with bar.progress, _keep_on_interrupt(out_dir, "optimisation"):
        result = opt.run(
            holdout, log=lambda m: bar.progress.console.print(f"capsim: {m}", highlight=False)
        )
    store.write_optimize(out_dir, result.evaluations, result.summary, result.best)
    out.print(optimize_table(result.summary))
    out.print(
        f"wrote {out_dir}/ (summary.json, evaluations.parquet, scenario.toml: the optimised "
        "scenario, ready for capsim run)"
    )
    if args.report:
        _report(out_dir)
    return 0


def optimize_table(s: dict[str, Any]) -> Table:
    """The optimised ramp against the scenario's own and the best uniform scale."""
    metric = s["objective_metric"]
    table = Table(
        title=f"optimize: {s['objective']} of {metric}, {s['replications']} replications, "
        f"{s['candidates']} candidates",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("ramp")
    for pool, units in s["pools"].items():
        for y in range(len(units)):
            table.add_column(f"{pool}\nyear {y + 1}", justify="right")
    table.add_column(f"{s['objective']} (in sample)", justify="right")
    table.add_column("holdout", justify="right")
    from sim.optimize import compared_ramps

    hold = s.get("holdout", {})
    rows = compared_ramps(s)
    for label, pools, value, held in rows:
        cells = [fmt.quantity(u) for units in pools.values() for u in units]
        table.add_row(
            label,
            *cells,
            fmt.metric_value(value, metric),
            fmt.metric_value(held, metric) if held is not None else "–",
            style="bold green" if label == "optimised" else None,
        )
    imp = hold.get("improvement", s["improvement"])
    where = "on the holdout" if hold else "in sample"
    commit = ""
    if s.get("commitment_searched"):
        commit = (
            f"commitment: {fmt.usd(s['commitment_usd'])} "
            f"(the scenario's own: {fmt.usd(s['baseline']['commitment_usd'])})\n"
        )
    table.caption = commit + (
        f"improvement over the scenario's own ramp {where}: "
        f"{fmt.metric_value(imp['mean'], metric)} (95% CI "
        f"{fmt.metric_value(imp['ci95_low'], metric)} to "
        f"{fmt.metric_value(imp['ci95_high'], metric)})"
    )
    if not s["feasible"]:
        table.caption += "\nno candidate met every constraint: the least-violating one is shown"
    return table


def cmd_stress(args: argparse.Namespace) -> int:
    from sim import grid, store, stress, sweep
    from sim.montecarlo import default_workers

    scenario = _load(args.scenario, args.overrides)
    axes = [grid.parse_vary(v) for v in args.vary]
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    sweep.parse_objective(args.objective)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    for f in args.stress:  # fail fast on a bad stress file
        stress.load_case(scenario, f)
    out_dir = _out_dir(args, scenario, "stress")
    store.prepare_out(out_dir, [*store.inputs_of(scenario), *args.stress], force=args.force)
    manifest = {
        "kind": "stress",
        "scenario": scenario.name,
        "seed": seed,
        "replications": n,
        "cases": [str(f) for f in args.stress],
        "cases_sha256": [
            _case_digest(store.fingerprint(stress.load_case(scenario, f).scenario))
            for f in args.stress
        ],
        "vary": [[a.key, list(a.values)] for a in axes],
        "objective": args.objective,
        "metric": args.metric,
        "constraints": [str(c) for c in constraints],
        **store.fingerprint(scenario),
    }
    partial = store.prepare_partial(
        out_dir, manifest, resume=args.resume, force=args.force, what="stress study"
    )
    bar = _Bar(f"stress {scenario.name}")
    bar.grow(n * (1 + len(args.stress)) * (1 + (len(grid.grid_points(axes)) if axes else 0)))
    with bar.progress, _keep_on_interrupt(partial, "stress study"):
        result = stress.run_stress(
            scenario,
            args.stress,
            n,
            seed,
            args.workers or default_workers(),
            axes,
            args.objective,
            constraints,
            store=store.FolderStore(partial),
            progress=bar.advance,
            metric=args.metric,
            backend=args.backend,
            scheduler=args.scheduler,
        )
    store.replace_dir(
        out_dir, lambda tmp: store.write_stress(tmp, result.cases, result.summary, scenario)
    )
    store.drop_partial(partial)  # the study is whole: its blocks are done with
    out.print(stress_table(result.summary))
    out.print(f"wrote {out_dir}/ (cases.parquet, summary.json, scenario.toml)")
    if args.report:
        _report(out_dir)
    return 0


def _case_digest(fp: dict[str, Any]) -> str:
    """One digest of a case: its resolved scenario and the bytes of its data files."""
    import hashlib
    import json

    return hashlib.sha256(
        json.dumps([fp["scenario_sha256"], fp["data_files"]], sort_keys=True).encode()
    ).hexdigest()


def stress_table(summary: dict[str, Any]) -> Table:
    """One row per case: the baseline's levels, then each case's paired change against it
    (± half its 95 % CI), for the headline metrics that some case moves. The report and
    summary.json hold every metric with levels and intervals."""
    cases = summary["cases"]
    first = cases[0]["change"]
    wanted = ["spend_usd.total", "spend_usd.shortfall", "esr"]
    wanted += [m for m in first if m.startswith("idle_spend_usd.")]
    wanted += [m for m in first if m.startswith("wait_hours.") and m.endswith(".p95")][:2]
    metrics = [
        m
        for m in wanted
        if m in first
        and not all(c["change"][m]["mean"] == 0 and c["change"][m]["sd"] == 0 for c in cases[1:])
    ]
    table = Table(
        title=(
            f"stress cases: the baseline's mean, and each case's mean change against it "
            f"(paired replications, {summary.get('replications', '?')} each; ± half the 95% CI)"
        ),
        title_justify="left",
    )
    table.add_column("case", no_wrap=True)
    for m in metrics:
        table.add_column(_metric_label(m), justify="right")
    table.add_row(
        cases[0]["case"], *[fmt.metric_value(cases[0]["metrics"][m]["mean"], m) for m in metrics]
    )
    for c in cases[1:]:
        cells = []
        for m in metrics:
            ch = c["change"][m]
            half = (ch["ci95_high"] - ch["ci95_low"]) / 2
            spread = (
                ""
                if not half or math.isnan(half)
                else f"\n± {fmt.metric_change(half, m).lstrip('+')}"
            )
            cells.append(fmt.metric_change(ch["mean"], m) + spread)
        table.add_row(c["case"], *cells)
    return table


def _metric_label(m: str) -> str:
    """A short human label for a metric name (one source: :func:`sim.fmt.metric_label`)."""
    return fmt.metric_label(m)


def _at_hours(start: str | None, origin: Any) -> tuple[float | None, str]:
    """``--start`` on the history's hour axis, and how the fragment names it."""
    from datetime import datetime

    from sim.history import naive_utc, parse_time

    if start is None:
        return None, "the end of the history"
    if origin is not None:
        t = parse_time(start)
        if t is None:
            raise ScenarioError(
                "--start", start, "must be a date such as 2026-07-01 (the history has timestamps)"
            )
        assert isinstance(origin, datetime)
        return (naive_utc(t) - origin).total_seconds() / 3600.0, f"{start}"
    try:
        hours = float(start)
    except ValueError:
        raise ScenarioError(
            "--start",
            start,
            "must be a number of hours on the log's own axis (the history has no timestamps)",
        ) from None
    if not math.isfinite(hours):
        raise ScenarioError("--start", start, "must be a finite number of hours")
    return hours, f"hour {start} of the log"


def _fit_outputs(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The fragment and report paths, checked before any work."""
    frag: Path = args.out
    if frag.suffix != ".toml":
        raise ScenarioError("--out", str(frag), "must name a .toml file (the fragment)")
    source = Path(args.log if args.fit_kind == "jobs" else args.usage)
    if frag.resolve() == source.resolve():
        raise ScenarioError("--out", str(frag), "is the history itself: choose another file")
    report = None if args.no_report else frag.with_name(frag.stem + "-report")
    if not args.force:
        for p in (frag, report):
            if p is not None and p.exists():
                raise ScenarioError(
                    "--out", str(p), "exists: add --force to replace it, or choose another name"
                )
    elif report is not None and report.exists() and not (report / "report.html").exists():
        raise ScenarioError(
            "--force", str(report), "holds files capsim did not write: refusing to replace it"
        )
    if frag.is_dir():
        raise ScenarioError("--out", str(frag), "is a folder; name the fragment's file")
    return frag, report


def cmd_fit(args: argparse.Namespace) -> int:
    import os
    from datetime import datetime

    from sim import fit, history, report, store

    frag, report_dir = _fit_outputs(args)
    made = datetime.now()
    if args.fit_kind == "jobs":
        log = history.read_job_log(args.log, args.workload_column, args.units_column)
        at, at_label = _at_hours(args.start, log.origin)
        fits = fit.fit_jobs(log, at)
        name = args.name or f"fitted-{args.log.stem}"
        text = fit.jobs_fragment(
            fits, args.log.name, args.pool, at_label, name, made, uncertain=args.uncertain
        )
        rows = fit.jobs_rows(fits, at_label)
        if log.zero_duration:
            _warn_text(f"{log.zero_duration} jobs with zero duration were left out")
        draw: Callable[[Path], Path] = lambda d: report.write_fit_report(  # noqa: E731
            d, args.log.name, "jobs", rows, fit.FIT_COLUMNS, text, jobs_fits=fits
        )
    else:
        series = history.read_usage(args.usage, args.column, args.time_column)
        at, at_label = _at_hours(args.start, series.origin)
        workload = args.workload or args.usage.stem
        dfit = fit.fit_demand(series, at)
        name = args.name or f"fitted-{args.usage.stem}"
        rel = os.path.relpath(args.usage.resolve(), frag.resolve().parent)
        text = fit.demand_fragment(
            dfit, args.usage.name, workload, args.pool, at_label, name, rel, args.column, made
        )
        rows = fit.demand_rows(dfit, workload, at_label)
        draw = lambda d: report.write_fit_report(  # noqa: E731
            d,
            args.usage.name,
            "demand",
            rows,
            fit.FIT_COLUMNS,
            text,
            demand_fit=dfit,
            workload=workload,
        )
    table = Table(title=f"capsim fit {args.fit_kind}: {escape(frag.name)}")
    for c in fit.FIT_COLUMNS:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(escape(c) for c in r))
    out.print(table)
    if report_dir is not None:  # first: a report that cannot be drawn leaves no fragment
        store.replace_dir(report_dir, lambda d: [draw(d)])
    store.write_text(frag, text)
    out.print(f"wrote {frag}")
    if report_dir is not None:
        out.print(f"wrote {report_dir / 'report.html'}")
    return 0


def _warn_text(text: str) -> None:
    err.print(f"[yellow]capsim: warning:[/] {escape(text)}", highlight=False)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fit": cmd_fit,
    "run": cmd_run,
    "validate": cmd_validate,
    "sweep": cmd_sweep,
    "stress": cmd_stress,
    "report": cmd_report,
    "export": cmd_export,
    "optimize": cmd_optimize,
    "schema": cmd_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``capsim`` console script."""
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    ALLOW_EXTERNAL_DATA.set(bool(getattr(args, "allow_external_data", False)))
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as exc:
        err.print(f"[red]capsim: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except OSError as exc:  # a file that cannot be read or written: the user's to fix
        err.print(f"[red]capsim: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("capsim: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        err.print("capsim: terminated")
        return EXIT_TERMINATED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
