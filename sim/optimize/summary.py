"""What an optimisation reports: its summary, and the ramps it compared (for the
terminal, the report and the export)."""

from __future__ import annotations

from typing import Any

from sim.optimize.confirm import RULE
from sim.sweep import (
    objective_ci,
    paired_difference_ci,
)


def summarize(
    opt: Any,
    best: Any,
    own: Any,
    uniform: Any,
    scale: float,
    rounds: int,
    holdout: int,
) -> dict[str, Any]:
    """The summary of an optimisation (``Optimizer.run``): the chosen ramp and parameters,
    its objective with a CI, the comparison with the scenario's own ramp and the best
    uniform scale, and the holdout."""
    x = best.frame[opt.metric].to_numpy()
    lo, hi = objective_ci(x, opt.objective)
    searched = opt.commitment(best.ramp)
    out: dict[str, Any] = {
        "pools": opt.units(best.ramp),
        "commitment_usd": searched
        if searched is not None
        else (list(opt.base.contract.commitment_usd) or None),
        "commitment_searched": searched is not None,
        "parameters": opt.parameters(best.ramp),
        "shape": opt.shape,
        "objective": opt.objective,
        "objective_metric": opt.metric,
        "constraints": [str(c) for c in opt.constraints],
        "objective_value": best.value,
        "ci95": [lo, hi],
        "feasible": best.feasible,
        "replications": opt.n,
        "seed": opt.seed,
        "candidates": len(opt.cache),
        "rounds": rounds,
        "replications_used": opt.used,
        "baseline": {
            "pools": opt.units(own.ramp),
            "parameters": opt.parameters(own.ramp),
            "commitment_usd": opt.commitment(own.ramp),
            "objective_value": own.value,
            "feasible": own.feasible,
        },
        "uniform": {
            "scale": scale,
            "pools": opt.units(uniform.ramp),
            "objective_value": uniform.value,
            "feasible": uniform.feasible,
        },
        "reserved_spend_usd": float(best.frame["spend_usd.reserved"].mean()),
    }
    verdicts = [m["verdict"] for m in opt.moves]
    out["decision"] = {
        "rule": RULE,
        "moves_taken": verdicts.count("accept") + verdicts.count("feasibility"),
        "moves_rejected_as_noise": verdicts.count("reject"),
        "moves_unsettled": [m for m in opt.moves if m["verdict"] == "unsettled"],
        "settled": "unsettled" not in verdicts,
        "confirmation_replications": int(sum(len(f) for f in opt.extra.values())),
        "moves": opt.moves,
    }
    out["improvement"] = paired_difference_ci(own.frame[opt.metric].to_numpy(), x, opt.objective)
    out["improvement_vs_uniform"] = paired_difference_ci(
        uniform.frame[opt.metric].to_numpy(), x, opt.objective
    )
    if holdout > 0:
        a, b = opt.n, opt.n + holdout
        hb, ho, hu = opt.evaluate([best.ramp, own.ramp, uniform.ramp], a, b)
        hx = hb.frame[opt.metric].to_numpy()
        hlo, hhi = objective_ci(hx, opt.objective)
        out["holdout"] = {
            "replications": holdout,
            "objective_value": hb.value,
            "ci95": [hlo, hhi],
            "feasible": hb.feasible,
            "baseline_objective_value": ho.value,
            "uniform_objective_value": hu.value,
            "improvement": paired_difference_ci(ho.frame[opt.metric].to_numpy(), hx, opt.objective),
            "improvement_vs_uniform": paired_difference_ci(
                hu.frame[opt.metric].to_numpy(), hx, opt.objective
            ),
        }
    return out


def value_at(raw: dict[str, Any], key: str) -> Any:
    """A dotted key's value in a scenario document (list entries by ``name``), or None."""
    node: Any = raw
    for part in key.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part), None)
        else:
            return None
    return node


def compared_ramps(summary: dict[str, Any]) -> list[tuple[str, dict[str, list[int]], float, Any]]:
    """(label, reserved units per pool and year, in-sample objective, held-out objective or
    None) of the optimised ramp, the scenario's own and the best uniform scale: the rows
    every table of an optimisation shows."""
    hold = summary.get("holdout") or {}
    return [
        ("optimised", summary["pools"], summary["objective_value"], hold.get("objective_value")),
        (
            "scenario's own",
            summary["baseline"]["pools"],
            summary["baseline"]["objective_value"],
            hold.get("baseline_objective_value"),
        ),
        (
            f"uniform ×{summary['uniform']['scale']:g}",
            summary["uniform"]["pools"],
            summary["uniform"]["objective_value"],
            hold.get("uniform_objective_value"),
        ),
    ]
