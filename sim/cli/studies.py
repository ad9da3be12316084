"""Commands over many scenarios: sweep, optimize, stress."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    Bar,
    load_for_command,
    out,
    resumable,
    study_dir,
    warn_certainty,
    write_report,
)
from sim.cli.sizing_tables import optimize_table, sweep_table
from sim.cli.tables import case_digest, compare_table, stress_tables
from sim.errors import ScenarioError


def _replace_whole(args: argparse.Namespace, out_dir: Path) -> None:
    """``--force`` over a finished study: the earlier folder stays whole until the new one
    is (put back if the new one fails), for the command's life (``args.held``)."""
    from sim import store

    if not (args.force and not args.resume):
        return
    held = getattr(args, "held", None)
    if held is None:
        store.clear_out(out_dir)
    else:
        held.enter_context(store.replacing(out_dir, active=True))


def cmd_sweep(args: argparse.Namespace) -> int:
    """``capsim sweep``: the scenario at every point of a grid of ``--vary`` values."""
    from sim import grid, store, sweep

    scenario = load_for_command(args.scenario, args)
    if not args.vary:
        raise ScenarioError("--vary", "", "a sweep needs at least one --vary KEY=...")
    axes = [grid.parse_vary(v) for v in args.vary]
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    sweep.parse_objective(args.objective)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    warn_certainty(constraints, n)
    if args.target_ci is not None and args.target_ci <= 0:
        raise ScenarioError("--target-ci", str(args.target_ci), "must be > 0 (a percentage)")
    if args.target_ci is not None and args.until_decided:
        raise ScenarioError("--until-decided", "", "choose it or --target-ci, not both")
    cap = args.max_replications or (20 * n if args.until_decided else 2000)
    out_dir = study_dir(args, scenario, "sweep")
    grid.point_scenarios(scenario, grid.grid_points(axes))  # fail fast on a bad value
    store.prepare_out(out_dir, store.inputs_of(scenario), force=args.force, resume=args.resume)
    _replace_whole(args, out_dir)
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
            **({"until_decided": True} if args.until_decided else {}),
        },
        args.resume,
    )
    from sim.montecarlo import default_workers

    bar = Bar(f"sweep {scenario.name}", args.workers or default_workers())

    with resumable(out_dir, "sweep", out_dir):  # the final files too: a full disk there
        with bar.progress:
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
                max_replications=cap,
                progress=bar.advance,
                on_total=bar.grow,
                metric=args.metric,
                vss=args.vss,
                until_decided=args.until_decided,
            )
        store.write_sweep(out_dir, result.points, result.summary, scenario)
    out.print(sweep_table(result, args.show))
    out.print(f"wrote {out_dir}/ (points.parquet, summary.json, scenario.toml)")
    if args.report:
        write_report(out_dir)
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    """``capsim optimize``: search reserved ramps for the best feasible one (an optimize
    directory)."""
    from sim import optimize, store, sweep
    from sim.montecarlo import default_workers

    scenario = load_for_command(args.scenario, args)
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    holdout = n if args.holdout is None else args.holdout
    warn_certainty(constraints, n)
    out_dir = study_dir(args, scenario, "optimize")
    from sim import grid

    axes = [grid.parse_vary(v) for v in args.vary]
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
        axes=axes,
    )
    opt.confirm_cap = args.confirm_replications or 5 * n
    opt.check_metrics()
    store.prepare_out(out_dir, store.inputs_of(scenario), force=args.force, resume=args.resume)
    _replace_whole(args, out_dir)
    store.check_manifest(
        out_dir,
        {
            "kind": "optimize",
            "scenario": scenario.name,
            "seed": seed,
            "replications": n,
            "holdout": holdout,
            "pools": list(args.pool),
            "vary": [[a.key, list(a.values)] for a in axes],
            "shape": args.shape,
            "commitment": args.commitment,
            "budget": args.budget,
            "confirm_replications": opt.confirm_cap,
            "objective": args.objective,
            "metric": args.metric,
            "constraints": [str(c) for c in constraints],
            **store.fingerprint(scenario),
        },
        args.resume,
        what="optimisation",
    )
    bar = Bar(f"optimize {scenario.name}", opt.workers)
    bar.estimated = True  # the search decides its own length: no early estimate
    opt.progress = bar.advance
    opt.on_total = bar.grow
    with resumable(out_dir, "optimisation", out_dir):  # the final files too
        with bar.progress:
            result = opt.run(
                holdout,
                log=lambda m: bar.progress.console.print(f"capsim: {m}", highlight=False),
            )
        store.write_optimize(out_dir, result.evaluations, result.summary, result.best)
    out.print(optimize_table(result.summary))
    out.print(
        f"wrote {out_dir}/ (summary.json, evaluations.parquet, scenario.toml: the optimised "
        "scenario, ready for capsim run)"
    )
    if args.report:
        write_report(out_dir)
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    """``capsim stress``: the scenario under each stress file (beside the baseline)."""
    from sim import grid, store, stress, sweep
    from sim.montecarlo import default_workers

    scenario = load_for_command(args.scenario, args)
    axes = [grid.parse_vary(v) for v in args.vary]
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    sweep.parse_objective(args.objective)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    for f in args.stress:  # fail fast on a bad stress file
        stress.load_case(scenario, f)
    out_dir = study_dir(args, scenario, "stress")
    store.prepare_out(out_dir, [*store.inputs_of(scenario), *args.stress], force=args.force)
    manifest = {
        "kind": "stress",
        "scenario": scenario.name,
        "seed": seed,
        "replications": n,
        "cases": [str(f) for f in args.stress],
        "cases_sha256": [
            case_digest(store.fingerprint(stress.load_case(scenario, f).scenario))
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
    bar = Bar(f"stress {scenario.name}", args.workers or default_workers())
    bar.grow(n * (1 + len(args.stress)) * (1 + (len(grid.grid_points(axes)) if axes else 0)))
    with bar.progress, resumable(partial, "stress study", out_dir, partial=True):
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
    for table in stress_tables(result.summary, args.show):
        out.print(table)
    out.print(f"wrote {out_dir}/ (cases.parquet, summary.json, scenario.toml)")
    if args.report:
        write_report(out_dir)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``capsim compare``: alternatives under every stress case, into a compare directory."""
    from sim import compare, store, sweep
    from sim.montecarlo import default_workers

    scenario = load_for_command(args.scenario, args)
    constraints = [sweep.parse_constraint(c) for c in args.constraint]
    sweep.parse_objective(args.objective)
    n = args.replications or scenario.replications
    seed = scenario.seed if args.seed is None else args.seed
    grid = compare.cells(scenario, args.alternatives, args.stress)  # fail fast on a bad file
    warn_certainty(constraints, n)
    sweep.check_metrics(scenario, seed, args.metric, constraints)
    out_dir = study_dir(args, scenario, "compare")
    inputs = [*store.inputs_of(scenario), *args.alternatives, *args.stress]
    store.prepare_out(out_dir, inputs, force=args.force)
    manifest = {
        "kind": "compare",
        "scenario": scenario.name,
        "seed": seed,
        "replications": n,
        "alternatives": [str(f) for f in args.alternatives],
        "cases": [str(f) for f in args.stress],
        "cells": [f"{c.alternative} under {c.case}" for c in grid],
        "cells_sha256": [case_digest(store.fingerprint(c.scenario)) for c in grid],
        "objective": args.objective,
        "metric": args.metric,
        "constraints": [str(c) for c in constraints],
        **store.fingerprint(scenario),
    }
    partial = store.prepare_partial(
        out_dir, manifest, resume=args.resume, force=args.force, what="comparison"
    )
    bar = Bar(f"compare {scenario.name}", args.workers or default_workers())
    bar.grow(n * len(grid))
    with bar.progress, resumable(partial, "comparison", out_dir, partial=True):
        result = compare.run_compare(
            scenario,
            args.alternatives,
            args.stress,
            n,
            seed,
            args.workers or default_workers(),
            args.objective,
            args.metric,
            constraints,
            store=store.FolderStore(partial),
            progress=bar.advance,
            backend=args.backend,
            scheduler=args.scheduler,
        )
    store.replace_dir(
        out_dir, lambda tmp: store.write_compare(tmp, result.cells, result.summary, scenario)
    )
    store.drop_partial(partial)
    out.print(compare_table(result.summary))
    out.print(f"wrote {out_dir}/ (cells.parquet, summary.json, scenario.toml)")
    if args.report:
        write_report(out_dir)
    return 0
