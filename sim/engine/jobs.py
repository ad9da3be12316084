"""The jobs of one replication as columns: what the input says of each, and what happens
to it. Every part reads and writes these lists by job number (arrival order)."""

from __future__ import annotations

import math

from sim.engine.states import PENDING
from sim.workload import JobStream


class Jobs:
    """Job columns, indexed by job number: the input's (``submit`` … ``pool``) and the run's
    (``state`` … ``alloc``)."""

    def __init__(self, stream: JobStream) -> None:
        n = len(stream)
        self.n = n
        self.submit: list[float] = stream.submit_hours.tolist()
        self.units: list[int] = stream.units.tolist()
        self.dur: list[float] = stream.duration_hours.tolist()
        """Hours at speed 1."""
        self.maxwait: list[float] = stream.max_wait_hours.tolist()
        self.prio: list[float] = stream.priority.tolist()
        self.pool: list[int] = stream.pool.tolist()
        self.state: list[int] = [PENDING] * n
        """``PENDING``, ``WAITING`` or ``RUNNING`` (:mod:`sim.engine.states`)."""
        self.send: list[float] = [math.nan] * n
        """When it left the queue (nan: never)."""
        self.start: list[float] = [math.nan] * n
        self.end: list[float] = [math.nan] * n
        self.ran_on: list[int] = [-1] * n
        """-1 never started, 0 the pool's reserved units, k + 1 overflow target k."""
        self.held: list[int] = [0] * n
        """Units held while running."""
        self.expired: list[bool] = [False] * n
        self.alloc: list[object] = [None] * n
        """Where on the pool's books it runs (see :meth:`PoolBooks.fit`)."""
