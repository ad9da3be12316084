"""The compiled engine's clock: a twin of SimPy's event heap, in the engine's own typed code.

SimPy's :class:`simpy.Environment` (:mod:`sim.engine.clock`) is the reference clock: the
interpreted engine (``CAPSIM_PURE_PYTHON=1``, or a machine without a C compiler) runs on
it. The compiled engine runs on this twin, which keeps SimPy's semantics exactly:

* events run in the order of (time, priority, scheduling order), lowest first, as SimPy's
  heap orders its ``(time, priority, eid, event)`` entries;
* an event scheduled ``delay`` hours from now is due at ``now + delay``, the same floating-
  point sum SimPy computes, and the clock reads exactly that time while it runs;
* ``run(until=t)`` stops at an event due at ``now + (t − now)`` with SimPy's URGENT
  priority (0: before any engine event of that instant, :class:`~sim.engine.states.Priority`
  starts at 1), scheduled when ``run`` is called, and leaves the clock there; as SimPy
  (4.1) does, it puts that event back at priority −1, with nothing to call, so ``peek()``
  sees it until the next run processes it;
* a negative delay is refused (SimPy's ``Timeout``), and so is a NaN delay, which SimPy's
  heap would order arbitrarily (both clocks refuse it through :func:`check_delay`).

So the two give the same events in the same order at the same times, and the engine's
results are bit-identical on either: tests/test_eventheap.py drives both with random
schedules, and the golden frames are computed on SimPy's clock (interpreted) and checked
on this one (compiled). Why a twin at all: SimPy's event objects, heap tuples and ``step``
are interpreted Python and were a third of a compiled replication (docs/design.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mypy_extensions import i64

INF: Final = float("inf")
SEQ: Final = 1 << 40
"""An event's key is priority × SEQ + scheduling order: one integer compares as SimPy's
(priority, eid) pair does (2^40 events a replication is far beyond any horizon)."""
URGENT: Final = 0
"""SimPy's priority of ``run``'s ``until`` event."""
STOPPED: Final = -1
"""SimPy's priority of that event put back once it stopped a run."""


def check_delay(delay: float) -> None:
    """Refuse a negative delay (SimPy's ``Timeout`` does) or a NaN one (SimPy's heap would
    order it arbitrarily): what both clocks refuse, in one place."""
    if not delay >= 0.0:
        raise ValueError(f"an event scheduled {delay} hours from now")


class Call:
    """An event: ``fn(event)`` is called when it is due; ``arg`` is its payload, or ``n``
    when the payload is an integer (a job number, an hour: held unboxed when compiled)."""

    def __init__(self, fn: Callable[[Call], None] | None, arg: Any, n: int = 0) -> None:
        self.fn = fn
        self.arg = arg
        self.n = n
        self.t: float = 0.0
        self.key: i64 = 0


class Env:
    """The clock (``now``, in hours) and the heap of events due."""

    def __init__(self) -> None:
        self.now: float = 0.0
        self.heap: list[Call] = []
        self.eid: i64 = 0

    def call(self, delay: float, prio: int, fn: Callable[[Call], None], arg: Any) -> None:
        """Call ``fn(event)`` ``delay`` hours from now, at priority ``prio`` among the events
        of that instant (lower first, then in scheduling order)."""
        check_delay(delay)
        self.push(Call(fn, arg), self.now + delay, prio)

    def call_n(self, delay: float, prio: int, fn: Callable[[Call], None], n: int) -> None:
        """:meth:`call` with an integer payload, read as ``event.n``."""
        check_delay(delay)
        self.push(Call(fn, None, n), self.now + delay, prio)

    def push(self, ev: Call, t: float, prio: int) -> None:
        ev.t = t
        key = i64(prio) * SEQ + self.eid
        ev.key = key
        self.eid += 1
        h = self.heap
        h.append(ev)
        i: i64 = len(h) - 1
        while i > 0:
            parent = (i - 1) >> 1
            q = h[parent]
            if q.t < t or (q.t == t and q.key < key):
                break
            h[i] = q
            i = parent
        h[i] = ev

    def pop(self) -> Call:
        """Remove and return the first event due (the heap is not empty)."""
        h = self.heap
        last = h.pop()
        if not h:
            return last
        top = h[0]
        n: i64 = len(h)
        i: i64 = 0
        t = last.t
        k = last.key
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            a = h[c]
            if c + 1 < n:
                b = h[c + 1]
                if b.t < a.t or (b.t == a.t and b.key < a.key):
                    c += 1
                    a = b
            if t < a.t or (t == a.t and k < a.key):
                break
            h[i] = a
            i = c
        h[i] = last
        return top

    def peek(self) -> float:
        """The time of the next event due (infinity if none)."""
        return self.heap[0].t if self.heap else INF

    def run(self, until: float | None = None) -> None:
        """Run the events due, in order, until the clock reaches ``until`` (or none is left)."""
        if until is not None:
            at = float(until)
            if at <= self.now:
                raise ValueError(f"until ({at}) must be greater than the current simulation time")
            self.push(Call(None, UNTIL), self.now + (at - self.now), URGENT)
        while self.heap:
            ev = self.pop()
            self.now = ev.t
            fn = ev.fn
            if fn is not None:
                fn(ev)
            elif ev.arg is UNTIL:
                # SimPy puts the stopping event back, with nothing left to call, at priority
                # -1 now: the next run processes it first (peek() sees it until then)
                self.push(Call(None, None), self.now, STOPPED)
                return


UNTIL: Final = object()
"""The payload of ``run``'s stopping event."""
