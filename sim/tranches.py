"""Commitments over time: each [[commitments]] entry as the tranches it buys (renewals
included), the capacity they add to their pool, and their prices.

Pure functions. A renewal is an identical tranche starting when the previous one ends,
priced at its own start: a ``discount`` is taken off the pool's on-demand reference price in
the month the tranche starts, so a price path or a price step moves what renewals cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sim.scenario import Commitment

Window = tuple[float, float]
"""(start, end) [h]; the end may lie past the horizon."""


def windows(c: Commitment, horizon_hours: float) -> list[Window]:
    """The tranche's terms that start inside the horizon: one, a renewal chain, or none
    (a tranche starting at or after the horizon)."""
    if c.start_hours >= horizon_hours - 1e-9:
        return []
    out = [(c.start_hours, c.start_hours + c.term_hours)]
    while c.renew and out[-1][1] < horizon_hours - 1e-9:
        s = out[-1][1]
        out.append((s, s + c.term_hours))
    return out


@dataclass(frozen=True)
class Tranche:
    """One term of a commitment, priced: what the accounts bill."""

    name: str
    """The commitment's name (renewals share it)."""
    kind: str
    start: float
    end: float
    units: float
    price: float
    """List USD per unit-hour (reserved), per hour of commitment (savings plan), or opex
    per unit-hour (owned), before the contract's discount."""


def priced(
    c: Commitment,
    horizon_hours: float,
    reference: Callable[[float], float] | None,
) -> list[Tranche]:
    """The tranches of a commitment with their prices; ``reference(t)`` is the pool's
    on-demand reference price at hour t (needed for a ``discount``)."""
    out = []
    for s, e in windows(c, horizon_hours):
        if c.kind == "savings_plan":
            price = c.usd_per_hour
        elif c.kind == "owned":
            price = c.opex_usd_per_unit_hour
        elif c.price_per_unit_hour is not None:
            price = c.price_per_unit_hour
        else:
            assert reference is not None and c.discount is not None
            price = (1.0 - c.discount) * reference(s)
        out.append(Tranche(c.name, c.kind, s, e, c.units, price))
    return out


def with_tranches(
    changes: tuple[tuple[float, int], ...],
    added: Sequence[tuple[float, float, float]],
    horizon_hours: float,
) -> tuple[tuple[float, int], ...]:
    """A pool's (time, units) capacity change points with tranches' units added while they
    are active (``added``: (start, end, units))."""
    if not added:
        return changes
    times = sorted(
        {t for t, _ in changes} | {x for s, e, _ in added for x in (s, e) if 0 <= x < horizon_hours}
    )
    out: list[tuple[float, int]] = []
    for t in times:
        base = [u for ct, u in changes if ct <= t + 1e-9]
        level = (base[-1] if base else 0) + sum(u for s, e, u in added if s <= t + 1e-9 < e)
        units = round(level)
        if not out or out[-1][1] != units:
            out.append((t, units))
    return tuple(out)
