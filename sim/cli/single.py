"""Commands on one scenario or one run folder: run, validate, schema, export, report."""

from __future__ import annotations

import argparse
import math
import sys

import sim
from sim import fmt
from sim.calendar import years
from sim.cli.common import (
    Bar,
    err,
    load_for_command,
    out,
    param_text,
    resumable,
    study_dir,
    warn,
    write_report,
)
from sim.cli.tables import idle_by_year_table, offered_work_table, summary_table
from sim.errors import ScenarioError


def cmd_run(args: argparse.Namespace) -> int:
    """``capsim run``: Monte Carlo replications of one scenario into a run directory."""
    from sim import batch, store

    scenario = load_for_command(args.scenario, args)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = study_dir(args, scenario, "run")
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

    bar = Bar(f"run {scenario.name}", args.workers or default_workers())
    bar.grow(n)
    with bar.progress, resumable(partial, "run", out_dir, partial=True):
        parts = batch.execute_each(
            batch.run_blocks(scenario, seed, n, args.record_jobs),
            store.FramesStore(partial),
            args.workers or default_workers(),
            args.backend,
            args.scheduler,
            bar.advance,
            task=batch.run_frames,
        )
    result = batch.combine(scenario, seed, parts)
    version = sim.__version__
    files = store.replace_dir(out_dir, lambda tmp: store.write_run(tmp, result, version))
    store.drop_partial(partial)  # the run is whole: its blocks are done with
    out.print(summary_table(result))
    idle = idle_by_year_table(result)
    if idle is not None:
        out.print(idle)
    out.print(f"wrote {out_dir}/ ({', '.join(f.name for f in files)})")
    if args.report:
        write_report(out_dir)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``capsim validate``: check a scenario (or a stress file over ``--base``) and summarise it."""
    base = None
    if args.base is not None:
        from sim import stress

        base = load_for_command(args.base, args)
        scenario = stress.load_case(base, args.scenario).scenario
    else:
        scenario = load_for_command(args.scenario, args)
    if base is not None:
        warn(scenario)
    over = f" (a stress case over {args.base})" if base is not None else ""
    out.print(
        f"[green]ok[/] {args.scenario}: scenario {scenario.name!r}{over}, "
        f"{scenario.years:g} years from {scenario.start}",
        highlight=False,
    )
    for p in scenario.pools.values():
        sched = ", ".join(fmt.quantity(r) for r in p.reserved)
        own = "".join(
            f", {what} {v}" for what, v in (("queue", p.queue), ("placement", p.placement)) if v
        )
        out.print(
            f"  pool {p.name}: {p.unit}, instances of {p.instance_units}, "
            f"reserved by year [{sched}]{own}"
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
        out.print(f"  change: x{param_text(ch.factor)} {when} on {', '.join(ch.workloads)}")
    for sh in scenario.shocks:
        out.print(
            f"  shocks: {param_text(sh.per_year)} a year on {', '.join(sh.workloads)}, "
            f"factor mean {sh.factor.mean():.3g}, duration mean {sh.duration_years.mean():.3g} y"
        )
    # the expected offered work averages the drawn parameters (and, over a base, twice):
    # a few seconds on the baseline, so say what is being worked out meanwhile
    what = "the case's and the base's" if base is not None else "the scenario's"
    with err.status(f"working out {what} expected offered work per contract year ..."):
        table = offered_work_table(scenario, base)
    out.print(table)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """``capsim schema``: the scenario's (or a stress file's) JSON schema on stdout."""
    import json

    from sim.schema import scenario_schema

    sys.stdout.write(json.dumps(scenario_schema(stress=args.stress), indent=2) + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``capsim export``: a run or study directory as CSV, Excel or FOCUS files."""
    from sim import export, store

    kind = store.check_folder(args.directory)
    if args.format == "focus":
        if kind != "run" or not (args.directory / "spend.parquet").exists():
            raise ScenarioError(
                str(args.directory), "", "--format focus exports a run folder's bill (spend)"
            )
        from sim import focus

        out.print(f"wrote {focus.write_focus(args.directory)}")
        return 0
    files = export.export(args.directory, args.format)
    out.print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``capsim report``: the report of an existing run or study directory."""
    write_report(args.directory, pdf=args.pdf, paper=args.paper)
    return 0
