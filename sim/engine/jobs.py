"""The jobs of one replication as columns: what the input says of each, and what happens
to it. Every part reads and writes these columns by job number (arrival order).

The numeric columns are ``librt.vecs`` typed arrays (``vec[float]``, ``vec[i64]``): compiled
by mypyc their items are plain doubles and 64-bit integers, read and written without a
Python object each (a list boxes every float written into it); interpreted they are a
sequence type like a list, with the same values. Measured paired against lists: the compiled
engine 0.905× the time on the baseline, the interpreted one unchanged (0.98×). A column read
as an integer where a float is compared (``float(u) > free``) is converted explicitly:
mypyc will not mix i64 and float, and the conversion is exact below 2**53."""

from __future__ import annotations

import math

from librt.vecs import vec
from mypy_extensions import i64

from sim.engine.states import PENDING
from sim.workload import JobStream


class Jobs:
    """Job columns, indexed by job number: the input's (``submit`` … ``pool``) and the run's
    (``state`` … ``alloc``)."""

    def __init__(self, stream: JobStream) -> None:
        n = len(stream)
        self.n = n
        self.submit: vec[float] = vec[float](stream.submit_hours.tolist())
        self.units: vec[i64] = vec[i64](stream.units.tolist())
        self.dur: vec[float] = vec[float](stream.duration_hours.tolist())
        """Hours at speed 1."""
        self.maxwait: vec[float] = vec[float](stream.max_wait_hours.tolist())
        self.prio: list[float] = stream.priority.tolist()
        self.pool: vec[i64] = vec[i64](stream.pool.tolist())
        self.state: vec[i64] = vec[i64]([PENDING] * n)
        """``PENDING``, ``WAITING`` or ``RUNNING`` (:mod:`sim.engine.states`)."""
        self.send: vec[float] = vec[float]([math.nan] * n)
        """When it left the queue (nan: never)."""
        self.start: vec[float] = vec[float]([math.nan] * n)
        self.end: vec[float] = vec[float]([math.nan] * n)
        self.ran_on: vec[i64] = vec[i64]([-1] * n)
        """-1 never started, 0 the pool's reserved units, k + 1 overflow target k."""
        self.held: vec[i64] = vec[i64]([0] * n)
        """Units held while running."""
        self.expired: list[bool] = [False] * n
        self.alloc: list[object] = [None] * n
        """Where on the pool's books it runs (see :meth:`PoolBooks.fit`)."""
