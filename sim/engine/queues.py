"""Queue policies without backfilling: strict FIFO and priority."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from sim.engine.model import (
    _WAITING,
)

if TYPE_CHECKING:
    from sim.engine.state import EngineState
else:
    EngineState = object


class Queues(EngineState):
    def enqueue_fifo(self, p: int, j: int) -> None:
        self.fifo[p].append(j)

    def enqueue_priority(self, p: int, j: int) -> None:
        heapq.heappush(self.heap[p], (self.prio[j], j))

    def enqueue_backfill(self, p: int, j: int) -> None:
        self.blist[p].append(j)
        self.fresh[p].append(j)

    def place_fifo(self, p: int) -> None:
        q = self.fifo[p]
        pool = self.pools[p]
        state = self.state
        while q:
            j = q[0]
            if state[j] != _WAITING:
                q.popleft()
                continue
            u = self.units[j]
            if pool.m == 1:
                if u > pool.free:
                    return
                alloc: object = u
            else:
                alloc = self.fit(pool, u)
                if alloc is None:
                    return
            q.popleft()
            self.start_reserved(p, j, alloc)

    def place_priority(self, p: int) -> None:
        h = self.heap[p]
        pool = self.pools[p]
        while h:
            j = h[0][1]
            if self.state[j] != _WAITING:
                heapq.heappop(h)
                continue
            alloc = self.fit(pool, self.units[j])
            if alloc is None:
                return
            heapq.heappop(h)
            self.start_reserved(p, j, alloc)
