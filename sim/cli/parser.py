"""The argument parser: one function per command, options shared by several."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.common import (
    MAX_REPLICATIONS,
    Parser,
    positive_int,
    positive_pct,
    replications_arg,
    seed_arg,
    whole_number,
)
from sim.cli.parser_compare import add_compare


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
        "-n", "--replications", type=replications_arg, help="replications (default: the scenario's)"
    )
    p.add_argument("--seed", type=seed_arg, help="root seed (default: the scenario's)")
    p.add_argument("--out", type=Path, help="output directory (default: runs/<scenario name>)")
    _set_option(p, "override one scenario key (dotted path, TOML value); repeatable")
    p.add_argument("--workers", type=positive_int, help="local processes (default: all cores)")
    p.add_argument("--report", action="store_true", help="also write figures and report.html")
    _external_option(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier capsim output folder at --out (never a folder of other files)",
    )


class _Version(argparse.Action):
    """``--version``, read only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        import sim
        from sim.engine import native

        print(f"capsim {sim.__version__}\nengine: {native.Status.reason}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = Parser(
        prog="capsim",
        description="Monte Carlo simulation of multi-year reserved cloud-compute contracts.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser, help="what to do"
    )
    _add_run(sub)
    _add_validate(sub)
    _add_sweep(sub)
    _add_stress(sub)
    add_compare(sub, _common, _objective_options, _backend_options)
    _add_optimize(sub)
    _add_report(sub)
    _add_schema(sub)
    _add_export(sub)
    _add_fit(sub)
    return parser


def _add_run(sub: Any) -> None:
    """``capsim run``."""
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


def _add_validate(sub: Any) -> None:
    """``capsim validate``."""
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


def _add_sweep(sub: Any) -> None:
    """``capsim sweep``."""
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
    _show_option(p)
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
        type=positive_pct,
        metavar="PCT",
        help="add replications until the objective's 95%% CI half-width is below PCT%% of its mean",
    )
    p.add_argument(
        "--until-decided",
        action="store_true",
        help="after -n replications at every point, add blocks only where the comparison with "
        "the best point is not settled at 95%% (paired, with common random numbers), until "
        "the recommendation is certain or --max-replications is reached",
    )
    p.add_argument(
        "--max-replications",
        type=replications_arg,
        default=None,
        help="replications a point may reach: with --target-ci (default 2000) or "
        "--until-decided (default 20 × -n)",
    )


def _show_option(p: argparse.ArgumentParser) -> None:
    show = "also show the metrics matching PATTERN (* matches any part: 'utilization.*')"
    p.add_argument("--show", action="append", default=[], metavar="PATTERN", help=show)


def _add_stress(sub: Any) -> None:
    """``capsim stress``."""
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
    _show_option(p)
    _backend_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted stress study of --out (its finished blocks are kept)",
    )


def _add_optimize(sub: Any) -> None:
    """``capsim optimize``."""
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
        help="a pool whose yearly reserved levels to choose; repeatable",
    )
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=...",
        help="also choose this number among a grid (KEY=START:STOP:STEP or KEY=V1,V2,...: a "
        "strategy's cover, a tranche's units ...), one grid step at a time; repeatable",
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
        type=whole_number(0, MAX_REPLICATIONS),
        help="fresh replications the result, the scenario's own ramp and the best uniform "
        "scale are evaluated on at the end (default: as many as -n; 0: none)",
    )
    p.add_argument(
        "--budget",
        type=replications_arg,
        metavar="REPLICATIONS",
        help="stop the search when it has used this many replications (default: no limit)",
    )
    p.add_argument(
        "--confirm-replications",
        type=replications_arg,
        metavar="N",
        help="a move that looks better is taken only when its paired difference is settled at "
        "95%%; while in doubt, both sides run more, up to N extra each (default 5 × -n)",
    )
    _objective_options(p)
    p.add_argument(
        "--resume", action="store_true", help="complete an interrupted optimisation in --out"
    )


def _add_report(sub: Any) -> None:
    """``capsim report``."""
    p = sub.add_parser(
        "report", help="figures and one HTML page for a run, sweep, stress or optimize directory"
    )
    p.add_argument("directory", type=Path, help="a run, sweep, stress or optimize output folder")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write report.pdf: the executive page, then one figure per page",
    )
    p.add_argument(
        "--paper",
        choices=("a4", "letter"),
        help="the PDF's paper, landscape (default: from the locale; a4 outside the Americas)",
    )


def _add_schema(sub: Any) -> None:
    """``capsim schema``."""
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


def _add_export(sub: Any) -> None:
    """``capsim export``."""
    p = sub.add_parser("export", help="tables for a spreadsheet (CSV files or one Excel workbook)")
    p.add_argument("directory", type=Path, help="a run, sweep, stress or optimize output folder")
    p.add_argument(
        "--format",
        choices=("csv", "xlsx", "focus"),
        default="csv",
        help="csv: DIR/export/<table>.csv; xlsx: DIR/export.xlsx, one sheet per table; "
        "focus: DIR/export/focus.csv, a run's simulated bill in FinOps FOCUS columns "
        "(default: csv)",
    )


def _add_fit(sub: Any) -> None:
    """``capsim fit``."""
    fit = sub.add_parser(
        "fit", help="fit workloads to history: a job log or an hourly usage series"
    )
    fsub = fit.add_subparsers(
        dest="fit_kind",
        required=True,
        parser_class=Parser,
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
        "--service",
        action="append",
        default=[],
        metavar="NAME",
        help="a FOCUS export (ChargePeriodStart/End, ConsumedQuantity): the ServiceName whose "
        "consumed quantity is the usage; repeatable (summed). The hourly series capsim reads "
        "from it is written beside the fragment (FRAGMENT-usage.csv)",
    )
    p.add_argument(
        "--workload", help="the workload's name in the fragment (default: the file's name)"
    )
    _fit_options(p, "demand")


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
