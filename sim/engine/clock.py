"""The engine's clock: SimPy's environment (the reference, which the interpreted engine
runs on), or its compiled twin (:mod:`sim.engine.eventheap`) in the compiled engine.

The engine schedules through :meth:`Env.call` and reads ``now`` and ``peek()``: the
interface both clocks offer, with the same events in the same order at the same times.
Only SimPy's public API is used here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import simpy
from simpy.events import NORMAL, Event, Timeout

from sim.engine import eventheap
from sim.engine.eventheap import check_delay
from sim.engine.native import Status


class Call(Timeout):
    """A timeout that calls ``fn(event)`` when processed, at the engine's priority ``prio``
    among the events of its instant (:class:`sim.engine.states.Priority`); ``arg`` is the
    event's payload: a job number, an hour, or the change the event makes (``n`` holds an
    integer payload, set by :meth:`Env.call_n`)."""

    n: int = 0

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

    def call(self, delay: float, prio: int, fn: Callable[[Call], None], arg: Any) -> None:
        """Call ``fn(event)`` ``delay`` hours from now (:meth:`eventheap.Env.call`)."""
        check_delay(delay)
        Call(self, delay, prio, fn, arg)

    def call_n(self, delay: float, prio: int, fn: Callable[[Call], None], n: int) -> None:
        """:meth:`call` with an integer payload, read as ``event.n``."""
        check_delay(delay)
        Call(self, delay, prio, fn, None).n = n

    def schedule(self, event: Event, priority: Any = NORMAL, delay: Any = 0) -> None:
        # a timeout asks for NORMAL; every NORMAL event here is a Call (SimPy's own events,
        # such as run()'s ``until``, are URGENT)
        _schedule(self, event, event.prio if priority is NORMAL else priority, delay)  # type: ignore[attr-defined]


_timeout_init = Timeout.__init__
_schedule = simpy.Environment.schedule


def new_env() -> eventheap.Env:
    """A clock for one replication: the compiled twin when the engine is compiled (its
    typed code takes no other), else SimPy's environment (the same interface)."""
    if Status.compiled:
        return eventheap.Env()
    return cast(eventheap.Env, Env())
