"""``capsim fit jobs|demand``: read history, fit, write a scenario fragment and its report."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from sim.cli.common import out, warn_text
from sim.errors import ScenarioError
from sim.scenario.values import metric_name, safe_name


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
    else:  # --force replaces what capsim wrote, and only that (the same rule as report)
        from sim import store

        store.refuse_foreign(frag, "--force")
        if report is not None and not store.is_capsims(report, (".html", ".png", ".svg")):
            raise ScenarioError(
                "--force", str(report), "holds files capsim did not write: refusing to replace it"
            )
    if frag.is_dir():
        raise ScenarioError("--out", str(frag), "is a folder; name the fragment's file")
    return frag, report


def _fit_names(args: argparse.Namespace) -> None:
    """Names the fragment will carry, checked as the loader checks them (a fragment capsim
    writes is one capsim reads)."""
    if args.name is not None:
        safe_name("--name", args.name, args.name)
    if args.pool is not None:
        metric_name("--pool", args.pool, args.pool)
    workload = getattr(args, "workload", None)
    if workload is not None:
        metric_name("--workload", workload, workload)


def cmd_fit(args: argparse.Namespace) -> int:
    """``capsim fit jobs|demand``: fit a workload from a history file and write the fit's folder."""
    import os
    from datetime import datetime

    from sim import fit, history, report, store

    frag, report_dir = _fit_outputs(args)
    _fit_names(args)
    made = datetime.now()
    if args.fit_kind == "jobs":
        log = history.read_job_log(args.log, args.workload_column, args.units_column)
        at, at_label = _at_hours(args.start, log.origin)
        fits = fit.fit_jobs(log, at)
        name = args.name or f"fitted-{args.log.stem}"
        text = fit.jobs_fragment(
            fits, args.log.name, args.pool, at_label, name, made, uncertain=args.uncertain
        )
        for f in fits:  # workload names come from the log: the loader must take them
            metric_name(str(args.log), f"workload {f.workload!r}", f.workload)
        rows = fit.jobs_rows(fits, at_label)
        if log.zero_duration:
            warn_text(f"{log.zero_duration} jobs with zero duration were left out")
        draw: Callable[[Path], Path] = lambda d: report.write_fit_report(  # noqa: E731
            d, args.log.name, "jobs", rows, fit.FIT_COLUMNS, text, jobs_fits=fits
        )
    else:
        column = args.column
        usage_file = args.usage
        if history.is_focus(args.usage):
            series = history.read_focus_usage(args.usage, args.service or None)
            # the fragment replays a plain hourly CSV: the one made from the export
            usage_file = frag.with_name(frag.stem + "-usage.csv")
            column = "units"
            if usage_file.exists() and not args.force:
                raise ScenarioError("--out", str(usage_file), "exists: add --force to replace it")
            store.write_text(
                usage_file,
                "units\n" + "".join(f"{v:.10g}\n" for v in series.values),
            )
        elif args.service:
            raise ScenarioError(
                "--service", args.service[0], "is for a FOCUS export; this file is not one"
            )
        else:
            series = history.read_usage(args.usage, args.column, args.time_column)
        at, at_label = _at_hours(args.start, series.origin)
        workload = args.workload or args.usage.stem
        dfit = fit.fit_demand(series, at)
        name = args.name or f"fitted-{args.usage.stem}"
        rel = os.path.relpath(usage_file.resolve(), frag.resolve().parent)
        text = fit.demand_fragment(
            dfit, args.usage.name, workload, args.pool, at_label, name, rel, column, made
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
