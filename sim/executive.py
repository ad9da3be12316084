"""The executive page that opens every report: the decision, the numbers a CFO asks for,
and three sentences in plain words, all computed from a result directory's files.

Pure: takes the scenario as run (its TOML tables), the replications frame and, for a stress
directory, its summary; returns text. :mod:`sim.report` lays it out as HTML and PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim import calendar, fmt


@dataclass(frozen=True)
class KeyNumber:
    """One key number: a label, its mean and the P10–P90 range across runs."""

    label: str
    value: str
    range: str = ""


@dataclass(frozen=True)
class Executive:
    title: str
    decision: list[str]
    numbers: list[KeyNumber]
    sentences: list[str]
    notes: list[str] = field(default_factory=list)


def _range(x: np.ndarray, f: Any = fmt.usd) -> str:
    if len(x) == 0:
        return ""
    return f"P10–P90 {f(float(np.percentile(x, 10)))} – {f(float(np.percentile(x, 90)))}"


def reserved_schedule(pool: dict[str, Any], years: float) -> list[int]:
    """Reserved units per contract year as run: the schedule × ``reserved_scale``, rounded
    down to whole instances (entries past the horizon dropped)."""
    n = calendar.contract_years(years)
    raw = pool.get("reserved", 0)
    values = list(raw) if isinstance(raw, list) else [raw] * n
    scale = float(pool.get("reserved_scale", 1.0))
    m = int(pool.get("instance_units", 1))
    return [int(float(v) * scale // m) * m for v in values[:n]]


def _decision(raw: dict[str, Any]) -> list[str]:
    meta = raw.get("scenario", {})
    years = float(meta.get("years", 7))
    start = str(meta.get("start", ""))
    out = [f"Contract: {meta.get('name', '')}, {years:g} years from {start}".rstrip(" from")]
    for name, p in raw.get("pools", {}).items():
        sched = reserved_schedule(p, years)
        unit = str(p.get("unit", "unit"))
        price = p.get("price_per_unit_hour")
        price_text = f" at ${price:.4g}/{unit}-hour" if isinstance(price, int | float) else ""
        if len(set(sched)) == 1:
            size = f"{fmt.quantity(sched[0])} {unit}s"
        else:
            size = f"{fmt.quantity(sched[0])} {unit}s in year 1, up to {fmt.quantity(max(sched))}"
        out.append(f"Reserve {name}: {size}{price_text}")
    c = raw.get("contract", {})
    if isinstance(c.get("commitment_usd"), int | float) and c["commitment_usd"] > 0:
        period = "over the term" if c.get("period", "term") == "term" else "per year"
        out.append(f"Commit {fmt.usd(float(c['commitment_usd']))} of spend {period} (take-or-pay)")
    return out


def _col(reps: pd.DataFrame, name: str) -> np.ndarray:
    return reps[name].to_numpy(dtype=float) if name in reps else np.zeros(0)


def _sum_cols(reps: pd.DataFrame, prefix: str) -> np.ndarray:
    cols = [c for c in reps.columns if c.startswith(prefix)]
    return reps[cols].sum(axis=1).to_numpy(dtype=float) if cols else np.zeros(0)


def _savings(raw: dict[str, Any], reps: pd.DataFrame, esr: np.ndarray) -> list[KeyNumber]:
    """The effective savings rate against on-demand, overall and per pool."""
    numbers = []
    if len(esr):
        numbers.append(
            KeyNumber(
                "Savings rate vs on-demand, overall", fmt.pct(esr.mean()), _range(esr, fmt.pct)
            )
        )
    for pool in raw.get("pools", {}):
        x = _col(reps, f"esr.{pool}")
        if len(x):
            numbers.append(
                KeyNumber(f"Savings rate, {pool}", fmt.pct(x.mean()), _range(x, fmt.pct))
            )
    return numbers


def _commitment_sentence(
    has_commitment: bool, short_share: float, shortfall: np.ndarray, esr: np.ndarray
) -> str:
    """Whether spend meets the commitment, and what the deal saves."""
    if has_commitment and short_share > 0:
        hit = shortfall[shortfall > 0.5]
        third = (
            f"In {fmt.pct(short_share, 0)} of runs spend falls short of the commitment, by "
            f"{fmt.usd(hit.mean())} on average, paid for nothing"
        )
    elif has_commitment:
        third = "The spend commitment is met in every run"
    else:
        third = "There is no spend commitment"
    if len(esr):
        return (
            third + f"; overall the deal saves {fmt.pct(esr.mean(), 0)} against on-demand prices."
        )
    return third + "."


def for_run(
    raw: dict[str, Any], reps: pd.DataFrame, stress: dict[str, Any] | None = None
) -> Executive:
    """The executive page of a run (or of a stress study's baseline, with ``stress``)."""
    meta = raw.get("scenario", {})
    years = float(meta.get("years", 7))
    n = len(reps)
    total = _col(reps, "spend_usd.total")
    idle = _sum_cols(reps, "idle_spend_usd.")
    overflow = _col(reps, "spend_usd.overflow")
    reserved = _col(reps, "spend_usd.reserved")
    shortfall = _col(reps, "spend_usd.shortfall")
    numbers = [
        KeyNumber(f"Expected spend over {years:g} years", fmt.usd(total.mean()), _range(total)),
        KeyNumber("Paid for idle reserved capacity", fmt.usd(idle.mean()), _range(idle)),
        KeyNumber(
            "Spilled to on-demand and other clouds", fmt.usd(overflow.mean()), _range(overflow)
        ),
    ]
    has_commitment = "spend_usd.shortfall" in reps and bool(
        raw.get("contract", {}).get("commitment_usd")
    )
    short_share = float((shortfall > 0.5).mean()) if len(shortfall) else 0.0
    if has_commitment:
        hit = shortfall[shortfall > 0.5]
        numbers.append(
            KeyNumber(
                "Take-or-pay shortfall risk",
                f"{fmt.pct(short_share, 0)} of runs",
                f"mean shortfall when short {fmt.usd(hit.mean())}" if len(hit) else "never short",
            )
        )
    esr = _col(reps, "esr")
    numbers += _savings(raw, reps, esr)
    worst = None
    if stress is not None:
        worst = worst_case(stress)
        if worst is not None:
            numbers.append(
                KeyNumber(
                    "Worst stress case",
                    worst["case"],
                    f"total spend {fmt.metric_change(worst['change'], 'spend_usd.total')} "
                    f"({worst['relative']:+.0%}) against the baseline",
                )
            )
    sentences = [
        f"Over {years:g} years this contract costs {fmt.usd(total.mean())} in expectation; in "
        f"eight runs out of ten the bill lands between {fmt.usd(float(np.percentile(total, 10)))} "
        f"and {fmt.usd(float(np.percentile(total, 90)))}.",
    ]
    idle_share = idle.mean() / reserved.mean() if len(reserved) and reserved.mean() > 0 else 0.0
    sentences.append(
        f"{fmt.usd(idle.mean())} of it ({fmt.pct(idle_share, 0)} of the reservation) pays for "
        f"capacity that sits idle, while {fmt.usd(overflow.mean())} of work spills past the "
        "reservation to on-demand and other clouds."
    )
    third = _commitment_sentence(has_commitment, short_share, shortfall, esr)
    sentences.append(third)
    if worst is not None:
        sentences.append(
            f"The worst stress case, {worst['case']}, moves total spend by "
            f"{fmt.metric_change(worst['change'], 'spend_usd.total')} ({worst['relative']:+.0%})."
        )
    notes = []
    if n < 30:
        notes.append(
            f"Based on {n} runs: means are sound, but P10 and P90 are rough; run 30 or more "
            "for a planning range."
        )
    return Executive(
        title=f"{meta.get('name', '')}: the decision and its risk",
        decision=_decision(raw),
        numbers=numbers,
        sentences=sentences,
        notes=notes,
    )


def worst_case(stress: dict[str, Any]) -> dict[str, Any] | None:
    """The stress case that raises total spend the most."""
    cases = [c for c in stress.get("cases", []) if c["case"] != "baseline"]
    if not cases:
        return None
    base = stress["cases"][0]["metrics"]["spend_usd.total"]["mean"] or 0.0
    c = max(cases, key=lambda c: c["change"]["spend_usd.total"]["mean"])
    ch = float(c["change"]["spend_usd.total"]["mean"])
    return {"case": c["case"], "change": ch, "relative": ch / base if base else 0.0}


def for_sweep(raw: dict[str, Any], summary: dict[str, Any], points: pd.DataFrame) -> Executive:
    """The executive page of a sweep: the recommended size and what it costs."""
    keys = summary["keys"]
    rec = summary.get("recommended")
    if rec is None:
        return Executive(
            title="Contract sizing: no size meets every constraint",
            decision=_decision(raw),
            numbers=[],
            sentences=["No grid point meets every constraint: widen the grid or relax one."],
        )
    sel = np.ones(len(points), dtype=bool)
    for k in keys:
        sel &= (points[k] == rec[k]).to_numpy()
    at = points[sel]
    total = _col(at, "spend_usd.total")
    idle = _sum_cols(at, "idle_spend_usd.")
    overflow = _col(at, "spend_usd.overflow")
    where = ", ".join(
        f"{k} = {rec[k]:g}" if isinstance(rec[k], float) else f"{k} = {rec[k]}" for k in keys
    )
    numbers = [
        KeyNumber("Recommended", where),
        KeyNumber("Expected spend at that size", fmt.usd(total.mean()), _range(total)),
        KeyNumber("Paid for idle reserved capacity", fmt.usd(idle.mean()), _range(idle)),
        KeyNumber(
            "Spilled to on-demand and other clouds", fmt.usd(overflow.mean()), _range(overflow)
        ),
    ]
    units = rec.get("reserved_units") or {}
    varied = " ".join(keys)
    decision = [
        d
        for d in _decision(raw)
        if not (d.startswith("Reserve ") and f"pools.{d.split()[1].rstrip(':')}." in varied)
    ]
    decision.insert(1, f"Sized by the sweep: {where}")
    for pool, sched in units.items():
        per_year = ", ".join(fmt.quantity(u) for u in sched)
        decision.append(f"At the recommendation {pool} reserves {per_year} by contract year")
    sentences = [
        f"Among {len(summary['points'])} sizes, {where} minimizes the {summary['objective']} of "
        f"total spend while meeting every constraint: {fmt.usd(rec['objective_value'])}.",
        f"At that size {fmt.usd(idle.mean())} pays for idle capacity and "
        f"{fmt.usd(overflow.mean())} spills to on-demand and other clouds, in expectation.",
        "In eight runs out of ten its total spend lands between "
        f"{fmt.usd(float(np.percentile(total, 10)))} and "
        f"{fmt.usd(float(np.percentile(total, 90)))}.",
    ]
    return Executive(
        title="Contract sizing: the recommendation",
        decision=decision,
        numbers=numbers,
        sentences=sentences,
    )


def against_own_ramp(summary: dict[str, Any]) -> tuple[str, str, str]:
    """How the optimised ramp compares with the scenario's own, in words a planner can
    quote: (label, value, range). Costs are compared only between ramps that meet every
    constraint; never a negative "better by"."""
    metric = summary["objective_metric"]
    hold = summary.get("holdout") or {}
    imp = hold.get("improvement", summary["improvement"])
    own_ok = summary.get("baseline", {}).get("feasible", True)
    best_ok = summary.get("feasible", True)
    ci = (
        f"95% CI {fmt.metric_value(abs(imp['ci95_low']), metric)} to "
        f"{fmt.metric_value(abs(imp['ci95_high']), metric)}"
        if imp["mean"] >= 0
        else f"95% CI {fmt.metric_value(-imp['ci95_high'], metric)} to "
        f"{fmt.metric_value(-imp['ci95_low'], metric)}"
    )
    constraints = ", ".join(summary.get("constraints", [])) or "the constraints"
    if best_ok and not own_ok:
        return (
            "The scenario's own ramp",
            "breaks a constraint",
            f"it does not meet {constraints}: its cost is no fair comparison",
        )
    if not best_ok:
        return ("Against the scenario's own ramp", "no ramp meets every constraint", "")
    if imp["mean"] >= 0:
        return (
            "Better than the scenario's own ramp by",
            fmt.metric_value(imp["mean"], metric),
            ci,
        )
    return (
        "Costs more than the scenario's own ramp by",
        fmt.metric_value(-imp["mean"], metric),
        ci + " (the asked shape or constraints cost this)",
    )


def for_optimize(raw: dict[str, Any], summary: dict[str, Any]) -> Executive:
    """The executive page of an optimisation: the ramp to sign and what it saves."""
    metric = summary["objective_metric"]
    hold = summary.get("holdout") or {}
    value = hold.get("objective_value", summary["objective_value"])
    where = "on fresh runs the search never saw" if hold else "in sample"
    decision = _decision(raw)
    numbers = [
        KeyNumber(
            f"{summary['objective']} of {metric}",
            fmt.metric_value(value, metric),
            f"{where}",
        ),
        KeyNumber(*against_own_ramp(summary)),
        KeyNumber("Reserved spend", fmt.usd(summary["reserved_spend_usd"])),
    ]
    ramp = "; ".join(
        f"{p}: " + ", ".join(fmt.quantity(u) for u in v) for p, v in summary["pools"].items()
    )
    sentences = [
        f"Reserving {ramp} by contract year gives a {summary['objective']} of {metric} of "
        f"{fmt.metric_value(value, metric)} {where}.",
        "Against the scenario's own ramp: "
        + " ".join(p for p in against_own_ramp(summary) if p)
        .lower()
        .replace("against the scenario's own ramp ", "")
        + ".",
        f"The search tried {summary['candidates']} ramps on {summary['replications']} common "
        f"runs each, starting from the best uniform scale (×{summary['uniform']['scale']:g}).",
    ]
    notes = (
        []
        if summary["feasible"]
        else ["No ramp met every constraint; the least-violating is shown."]
    )
    return Executive(
        title="The reserved ramp to sign",
        decision=decision,
        numbers=numbers,
        sentences=sentences,
        notes=notes,
    )


def for_compare(raw: dict[str, Any], summary: dict[str, Any]) -> Executive:
    """The executive page of a comparison: which alternative is cheapest as planned, which
    has the least worst-case regret, and what each commits past the horizon."""
    metric = summary["objective_metric"]
    alts, cases = summary["alternatives"], summary["cases"]
    first = cases[0]
    best, minimax = summary["best_as_planned"], summary["minimax_regret"]
    decision = [
        f"Cheapest as planned ({first}): {best}, "
        f"{fmt.metric_value(summary['cells'][best][first]['objective_value'], metric)}.",
        f"Least worst-case regret over {len(cases)} cases: {minimax} "
        f"(at most {fmt.metric_change(summary['worst_case_regret'][minimax]['mean'], metric)}"
        " above the best of any case).",
    ]
    numbers = []
    for a in alts:
        c = summary["cells"][a][first]
        w = summary["worst_case_regret"][a]
        lock = c["metrics"].get("commitment_beyond_horizon_usd", {}).get("mean", 0.0)
        numbers.append(
            KeyNumber(
                a,
                fmt.metric_value(c["objective_value"], metric),
                f"worst-case regret {fmt.metric_change(w['mean'], metric)} ({w['case']}); "
                f"lock-in past the horizon {fmt.usd(lock)}",
            )
        )
    sentences = []
    for k in cases[1:]:
        b = summary["best"][k]
        sentences.append(
            f"Under {k} the best is {b}; "
            + ", ".join(
                f"{a} {fmt.metric_change(summary['regret'][a][k]['mean'], metric)}"
                for a in alts
                if a != b
            )
            + "."
        )
    infeasible = [
        f"{a} under {k}" for a in alts for k in cases if not summary["cells"][a][k]["feasible"]
    ]
    notes = (
        [f"Breaks a constraint ({', '.join(summary['constraints'])}): {', '.join(infeasible)}."]
        if infeasible
        else []
    )
    meta = raw.get("scenario", {})
    return Executive(
        f"{meta.get('name', '')}: {len(alts)} alternatives under {len(cases)} cases",
        decision,
        numbers,
        sentences,
        notes,
    )
