"""Queue policies as small strategy objects, one per pool: the pool's waiting jobs and the
rule that starts them on its reserved capacity. :class:`Fifo` and :class:`Priority` here;
EASY backfilling in :mod:`sim.engine.backfill`.

A policy sees the engine through a narrow surface: the jobs' columns (``state``, ``units``,
``prio``), the capacity books (``fit``) and ``start_reserved``. The core calls
:meth:`QueuePolicy.enqueue` at an arrival, :meth:`QueuePolicy.place` when the pool may
start jobs, and the hooks :meth:`QueuePolicy.started` and :meth:`QueuePolicy.completed`
only when :attr:`QueuePolicy.tracks_running` (the jobs' end times matter to the policy)."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from sim.engine.model import (
    WAITING,
)

if TYPE_CHECKING:
    from sim.engine.state import EngineState


class QueuePolicy:
    """A pool's waiting jobs and the rule that starts them."""

    tracks_running: ClassVar[bool] = False
    """Whether the policy is told of every start and completion on the pool."""

    def __init__(self, eng: EngineState, p: int) -> None:
        self.eng = eng
        self.p = p
        self.pool = eng.pools[p]
        self.dirty = True
        """Capacity or the head may have changed since the last pass (not only arrivals)."""

    def enqueue(self, j: int) -> None:
        """Job j now waits for the pool."""
        raise NotImplementedError

    def place(self) -> None:
        """Start what the policy starts now."""
        raise NotImplementedError

    def started(self, j: int, end: float) -> None:
        """Job j started on reserved units and will end at ``end`` (if tracks_running)."""

    def left(self, j: int) -> None:
        """Waiting job j left for an overflow target: it may have been the head."""
        self.dirty = True

    def completed(self, j: int) -> bool:
        """Job j ended on reserved units (if tracks_running); whether the policy foresaw
        its units coming back (then the pass need not start from scratch)."""
        return False


class Fifo(QueuePolicy):
    """Strict first come, first served: the head blocks everything behind it."""

    def __init__(self, eng: EngineState, p: int) -> None:
        super().__init__(eng, p)
        self.q: deque[int] = deque()

    def enqueue(self, j: int) -> None:
        self.q.append(j)

    def place(self) -> None:
        q = self.q
        eng = self.eng
        pool = self.pool
        state = eng.state
        while q:
            j = q[0]
            if state[j] != WAITING:
                q.popleft()
                continue
            u = eng.units[j]
            if pool.m == 1:
                if u > pool.free:
                    return
                alloc: object = u
            else:
                alloc = eng.fit(pool, u)
                if alloc is None:
                    return
            q.popleft()
            eng.start_reserved(self.p, j, alloc)


class Priority(QueuePolicy):
    """Lowest priority value first, FIFO among equals; the best waiting job blocks the rest."""

    def __init__(self, eng: EngineState, p: int) -> None:
        super().__init__(eng, p)
        self.heap: list[tuple[float, int]] = []

    def enqueue(self, j: int) -> None:
        heapq.heappush(self.heap, (self.eng.prio[j], j))

    def place(self) -> None:
        h = self.heap
        eng = self.eng
        pool = self.pool
        while h:
            j = h[0][1]
            if eng.state[j] != WAITING:
                heapq.heappop(h)
                continue
            alloc = eng.fit(pool, eng.units[j])
            if alloc is None:
                return
            heapq.heappop(h)
            eng.start_reserved(self.p, j, alloc)
