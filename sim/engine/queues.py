"""Queue policies as small objects, one per pool: the pool's waiting jobs and the rule that
starts them on its reserved capacity. :class:`Fifo` and :class:`Priority` here; EASY
backfilling in :mod:`sim.engine.backfill`; the registry of names in
:mod:`sim.engine.policies`.

A policy holds its pool's capacity books (:class:`~sim.engine.books.PoolBooks`: ``fit``),
the job columns (:class:`~sim.engine.jobs.Jobs`) and the dispatcher that owns it
(:class:`~sim.engine.dispatch.Dispatcher`: ``start`` puts a job on reserved units). The
dispatcher calls :meth:`QueuePolicy.enqueue` at an arrival, :meth:`QueuePolicy.place` when
the pool may start jobs, :meth:`QueuePolicy.left` when a waiting job overflows, and
:meth:`QueuePolicy.started` and :meth:`QueuePolicy.completed` only when
:attr:`QueuePolicy.tracks_running` (the jobs' end times matter to the policy)."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from sim.engine.states import WAITING

if TYPE_CHECKING:  # the dispatcher owns the policies: a reference back, not a dependency
    from sim.engine.books import PoolBooks
    from sim.engine.dispatch import Dispatcher
    from sim.engine.jobs import Jobs


class QueuePolicy:
    """A pool's waiting jobs and the rule that starts them."""

    name: ClassVar[str] = ""
    """The policy's name in a scenario (``[policy] queue``, ``[pools.<name>] queue``)."""
    summary: ClassVar[str] = ""
    """What it does, in a sentence: the schema's and docs/scenario.md's description (a
    class attribute, not the docstring: the compiled engine's classes have none)."""
    tracks_running: ClassVar[bool] = False
    """Whether the policy is told of every start and completion on the pool."""

    def __init__(self, dispatch: Dispatcher, p: int) -> None:
        self.dispatch = dispatch
        self.jobs: Jobs = dispatch.jobs
        self.p = p
        self.pool: PoolBooks = dispatch.pools[p]
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

    name: ClassVar[str] = "fifo"
    summary: ClassVar[str] = "strict first come, first served: the head blocks all behind it"

    def __init__(self, dispatch: Dispatcher, p: int) -> None:
        super().__init__(dispatch, p)
        self.q: deque[int] = deque()

    def enqueue(self, j: int) -> None:
        self.q.append(j)

    def place(self) -> None:
        q = self.q
        pool = self.pool
        jobs = self.jobs
        state = jobs.state
        while q:
            j = q[0]
            if state[j] != WAITING:
                q.popleft()
                continue
            u = jobs.units[j]
            if pool.m == 1:
                if float(u) > pool.free:
                    return
                alloc: object = u
            else:
                alloc = pool.fit(u)
                if alloc is None:
                    return
            q.popleft()
            self.dispatch.start(self.p, j, alloc)


class Priority(QueuePolicy):
    """Lowest priority value first, FIFO among equals; the best waiting job blocks the rest."""

    name: ClassVar[str] = "priority"
    summary: ClassVar[str] = "lowest priority value first, FIFO among equals"

    def __init__(self, dispatch: Dispatcher, p: int) -> None:
        super().__init__(dispatch, p)
        self.heap: list[tuple[float, int]] = []

    def enqueue(self, j: int) -> None:
        heapq.heappush(self.heap, (self.jobs.prio[j], j))

    def place(self) -> None:
        h = self.heap
        jobs = self.jobs
        pool = self.pool
        while h:
            j = h[0][1]
            if jobs.state[j] != WAITING:
                heapq.heappop(h)
                continue
            alloc = pool.fit(jobs.units[j])
            if alloc is None:
                return
            heapq.heappop(h)
            self.dispatch.start(self.p, j, alloc)
