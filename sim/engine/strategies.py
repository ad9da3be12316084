"""Purchases decided inside the simulation: at each decision epoch a strategy looks at the
hourly usage of its pool over a lookback window *before* the epoch (the engine has run only
that far), and buys reserved units that start after a lead time.

Usage of a pool in an hour: units busy on its reserved capacity plus units its jobs hold on
its overflow targets, and the demand it serves there (what reserved capacity could have
carried); queued work is not usage. The target is the ``cover`` quantile (or the mean) of
the window's hourly usage; the strategy buys what the capacity it already holds at
``t + lead`` (schedule and earlier purchases) falls short of it, in whole instances (half
up), at most ``max_units``; the share ``fill`` of it is delivered.
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.model import Purchase, StrategySpec


def level_at(changes: list[tuple[float, int]], t: float) -> int:
    """A (time, units) step schedule's level at time t."""
    level = 0
    for ct, u in changes:
        if ct <= t + 1e-9:
            level = u
        else:
            break
    return level


def hourly_usage(
    t0: float,
    t1: float,
    start: np.ndarray,
    end: np.ndarray,
    held: np.ndarray,
    demand_hourly: np.ndarray | None,
) -> np.ndarray:
    """Mean units in use in each whole hour of [t0, t1): jobs running over it (each held
    ``held`` units on [start, end)) plus the demand served in that hour."""
    h0, h1 = math.floor(t0), math.floor(t1)
    if h1 <= h0:
        return np.zeros(0)
    edges: np.ndarray = np.arange(h0, h1 + 1, dtype=float)
    n = h1 - h0
    out = np.zeros(n)
    if len(start):
        s = np.clip(start, edges[0], edges[-1])
        e = np.clip(end, edges[0], edges[-1])
        keep = e > s
        s, e, w = s[keep], e[keep], held[keep]

        # ∫ level = Σ w × overlap, per hour, via cumulative sums at the edges
        def at(x: np.ndarray) -> np.ndarray:
            idx = np.searchsorted(edges, x, side="right")
            wt = np.bincount(idx, weights=w * x, minlength=n + 2)
            ww = np.bincount(idx, weights=w, minlength=n + 2)
            below = np.cumsum(wt)[: n + 1]
            above = ww.sum() - np.cumsum(ww)[: n + 1]
            return below + edges * above

        out += np.diff(at(e) - at(s))
    if demand_hourly is not None:
        out += demand_hourly[h0:h1]
    return out


def decide(
    spec: StrategySpec,
    index: int,
    k: int,
    now: float,
    usage: np.ndarray,
    held_at_start: int,
    instance_units: int,
) -> Purchase | None:
    """One decision: the purchase (or None) from the window's hourly usage."""
    if now <= 0 and spec.initial_units is not None:
        target = float(spec.initial_units) + held_at_start
    elif len(usage) == 0:
        return None
    elif spec.cover < 0:
        target = float(usage.mean())
    else:
        target = float(np.quantile(usage, spec.cover))
    want = max(0.0, target - held_at_start)
    m = instance_units
    ordered = math.floor(want / m + 0.5) * m
    ordered = min(ordered, int(spec.max_units // m) * m)
    if ordered <= 0:
        return None
    delivered = math.floor(ordered * spec.fills[k] / m + 0.5) * m
    start = now + spec.lead_hours
    return Purchase(index, 0, now, start, start + spec.term_hours, ordered, delivered)
