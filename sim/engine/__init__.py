"""The discrete-event engine: jobs against reserved pools and overflow targets.

A SimPy :class:`simpy.Environment` holds the clock and the event heap (the compiled engine
runs on its twin, :mod:`sim.engine.eventheap`: the same events in the same order at the same
times, held to SimPy by tests). The engine is
written in SimPy's callback style (an event per arrival, completion, wait expiry and
capacity change, with its own queues) rather than a process per job: the same event
semantics at several times the speed. Events at one instant run in this order, by
SimPy event priority:

1. completions (``COMPLETE``),
2. contract-year capacity changes and the hourly demand claim (``TICK``),
3. jobs whose ``max_wait_hours`` has run out, which overflow (``EXPIRE``),
4. arrivals (``ARRIVE``),
5. placement on reserved capacity (done inline once nothing else is due at the
   instant, or as a ``PLACE`` event),
6. jobs with ``max_wait_hours = 0`` that were not placed, which overflow at once.

The engine only moves state and records change points and per-job times; every
metric is computed afterwards by :mod:`sim.metrics`. It never prints or writes.

Reserved capacity that falls at a contract-year boundary is released from free
units at once; units still busy are released as their jobs end (they stay reserved,
and paid, until then). Running jobs are never preempted.

The modules are compiled by mypyc at install where a C compiler is present, and used only
while they match these sources (:mod:`sim.engine.native`); ``CAPSIM_PURE_PYTHON=1`` runs
them interpreted, on SimPy's own clock, with identical results."""

from typing import TYPE_CHECKING, Any

from sim.engine import native

native.install()  # before any other engine module is imported

if TYPE_CHECKING:
    from sim.engine.core import simulate
    from sim.engine.model import (
        DemandServed,
        EngineInput,
        EngineRecord,
        PoolSpec,
        Purchase,
        StrategySpec,
        TargetSpec,
    )

__all__ = [
    "DemandServed",
    "EngineInput",
    "EngineRecord",
    "PoolSpec",
    "Purchase",
    "StrategySpec",
    "TargetSpec",
    "native",
    "simulate",
]


def __getattr__(name: str) -> Any:
    """The engine's names, loaded on first use: the scenario layer reads the queue-policy
    registry (:mod:`sim.engine.policies`) while the engine proper, which builds on the
    scenario's types, is not loaded yet."""
    if name == "simulate":
        from sim.engine.core import simulate  # noqa: PLC0415  (loaded on first use)

        return simulate
    if name in __all__:
        from sim.engine import model  # noqa: PLC0415  (loaded on first use)

        return getattr(model, name)
    raise AttributeError(f"module 'sim.engine' has no attribute {name!r}")
