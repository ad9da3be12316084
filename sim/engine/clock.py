"""SimPy's clock and event heap, with the engine's event priorities (public API only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL, Event, Timeout


class Call(Timeout):
    """A timeout that calls ``fn(event)`` when processed, at the engine's priority ``prio``
    among the events of its instant (:class:`sim.engine.states.Priority`); ``arg`` is the
    event's payload: a job number, an hour, or the change the event makes."""

    def __init__(
        self, env: simpy.Environment, delay: float, prio: int, fn: Callable[[Call], None], arg: Any
    ) -> None:
        self.prio = prio
        self.arg = arg
        _timeout_init(self, env, delay)
        self.callbacks.append(fn)


class Env(simpy.Environment):
    """SimPy's environment, scheduling each :class:`Call` at its own priority.

    SimPy orders the events of one instant by priority, then by scheduling order; its
    public ``schedule`` takes the priority, which a timeout otherwise leaves at NORMAL.
    """

    def schedule(self, event: Event, priority: Any = NORMAL, delay: Any = 0) -> None:
        # a timeout asks for NORMAL; every NORMAL event here is a Call (SimPy's own events,
        # such as run()'s ``until``, are URGENT)
        _schedule(self, event, event.prio if priority is NORMAL else priority, delay)  # type: ignore[attr-defined]


_timeout_init = Timeout.__init__
_schedule = simpy.Environment.schedule
