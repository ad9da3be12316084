"""No move on noise: a poll that looks better than the incumbent is accepted only when the
paired difference says so with confidence.

The rule is the one a decided sweep uses (:mod:`sim.sweep.decide`): the challenger's
objective minus the incumbent's, over replications both ran (common random numbers), has a
confidence interval at 1 − α/k for the k polls of the round (Bonferroni); below zero: the
move is accepted; above: rejected; straddling zero: both run another block of confirmation
replications, up to ``cap`` each, then the move is left *unsettled* (not taken) and reported.

Confirmation replications have their own indices (from :data:`CONFIRM_FROM`), apart from
the search's 0..n-1 and the holdout's n..n+holdout-1, so the holdout stays fresh.
A move from an infeasible incumbent to a feasible point, or between two infeasible points
toward feasibility, is taken on the estimate: the search must be able to reach the
feasible region, and the final answer's feasibility is what the summary and the holdout
judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.sweep import BLOCK
from sim.sweep.decide import difference_interval
from sim.variance import CONTROL_PREFIX

CONFIRM_FROM = 10_000_000
"""The first replication index of confirmation runs."""

ALPHA = 0.05

RULE = (
    "a move is taken when the paired difference (common random numbers) is below zero at "
    "95 % with Bonferroni over the round's polls; more replications are run while it is in "
    "doubt (sequential elimination, Nelson et al. 2001)"
)


@dataclass(frozen=True)
class Verdict:
    """What the rule said of one move."""

    verdict: str  # accept | reject | unsettled | feasibility
    low: float
    high: float
    replications: int
    """Replications of each side the comparison used."""


def _rows(opt: Any, ramp: Any) -> pd.DataFrame:
    ev = opt.cache[ramp]
    extra = opt.extra.get(ramp)
    return ev.frame if extra is None else pd.concat([ev.frame, extra], ignore_index=True)


def _extend(opt: Any, ramps: list[Any], stop: int) -> bool:
    """Confirmation replications CONFIRM_FROM..CONFIRM_FROM+stop-1 for each ramp; False when
    the budget has no room for them."""
    have = {r: len(opt.extra[r]) if r in opt.extra else 0 for r in ramps}
    need = {r: h for r, h in have.items() if h < stop}
    cost = sum(stop - h for h in need.values())
    if opt.budget is not None and opt.used + cost > opt.budget:
        return False
    for r, h in need.items():
        (ev,) = opt.evaluate([r], CONFIRM_FROM + h, CONFIRM_FROM + stop)
        old = opt.extra.get(r)
        opt.extra[r] = ev.frame if old is None else pd.concat([old, ev.frame], ignore_index=True)
    return True


def confirm(opt: Any, incumbent: Any, challenger: Any, polls: int, cap: int) -> Verdict:
    """Settle whether ``challenger`` (which looks better on the search's replications) is
    better than ``incumbent``, running confirmation blocks while in doubt."""
    if not incumbent.feasible:
        return Verdict("feasibility", float("nan"), float("nan"), opt.n)
    level = 1 - ALPHA / max(polls, 1)
    while True:
        a, b = _rows(opt, challenger.ramp), _rows(opt, incumbent.ramp)
        both = a.merge(b, on="replication", suffixes=("", "__inc"))
        ctl = [c for c in both.columns if c.startswith(CONTROL_PREFIX) and "__" not in c]
        lo, hi = difference_interval(
            both[opt.metric].to_numpy(),
            both[f"{opt.metric}__inc"].to_numpy(),
            opt.objective,
            level,
            both[ctl].to_numpy(dtype=float) if ctl else None,
        )
        if hi < 0:
            return Verdict("accept", lo, hi, len(both))
        if lo >= 0:
            return Verdict("reject", lo, hi, len(both))
        extra = len(both) - opt.n
        stop = min((extra // BLOCK + 1) * BLOCK, cap)
        if extra >= cap or not _extend(opt, [challenger.ramp, incumbent.ramp], stop):
            return Verdict("unsettled", lo, hi, len(both))
