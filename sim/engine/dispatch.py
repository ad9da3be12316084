"""The dispatcher: each pool's queue policy, the placement requests of an instant, and jobs
started on and ended on reserved units.

It owns one :class:`~sim.engine.queues.QueuePolicy` per pool (from the registry,
:mod:`sim.engine.policies`) and is what the policies call to start a job
(:meth:`Dispatcher.start`). The engine's other parts call it to ask for a placement pass
(:meth:`Dispatcher.request_place`) and to move a pool's reserved level
(:meth:`Dispatcher.set_reserved`)."""

from __future__ import annotations

from collections.abc import Callable

from sim.engine.books import PoolBooks
from sim.engine.eventheap import Call, Env
from sim.engine.jobs import Jobs
from sim.engine.model import EngineInput
from sim.engine.policies import QUEUE_POLICIES
from sim.engine.queues import QueuePolicy
from sim.engine.states import RUNNING, WAITING, Priority


class Dispatcher:
    """Starts jobs on reserved capacity, pool by pool, and takes them back as they end."""

    def __init__(self, env: Env, jobs: Jobs, pools: list[PoolBooks], inp: EngineInput) -> None:
        self.env = env
        # the handlers as bound methods made once: an event scheduled with self.on_x
        # would allocate a new bound method every time
        self.on_complete_cb: Callable[[Call], None] = self.on_complete
        self.on_place_cb: Callable[[Call], None] = self.on_place
        self.jobs = jobs
        self.pools = pools
        self.backfill_depth = inp.backfill_depth
        """How many waiting jobs behind a blocked head EASY backfilling examines."""
        self.backfill_reference = inp.backfill_reference
        self.speed: list[float] = [spec.speed_changes[0][1] for spec in inp.pools]
        """Each pool's hardware speed now."""
        self.nwaiting: list[int] = [0] * len(inp.pools)
        """Jobs waiting for each pool (backfill's window)."""
        self.place_due: set[int] = set()
        """Pools with a placement pass due once the instant's other events have run."""
        self.place_event = False
        self.queues: list[QueuePolicy] = [
            QUEUE_POLICIES[spec.queue or inp.queue](self, p) for p, spec in enumerate(inp.pools)
        ]
        self.tracking: list[bool] = [q.tracks_running for q in self.queues]

    def enqueue(self, p: int, j: int) -> None:
        """Job j arrived for pool p: it waits in the pool's queue."""
        self.jobs.state[j] = WAITING
        self.nwaiting[p] += 1
        self.queues[p].enqueue(j)

    def request_place(self, p: int, dirty: bool = True) -> None:
        """Run placement for pool p now if nothing else is due at this instant, else later.

        ``dirty``: capacity or the queue's head may have changed (not just arrivals).
        """
        if dirty:
            self.queues[p].dirty = True
        env = self.env
        if env.peek() <= env.now:
            # something else is due at this instant: place after it (a PLACE event runs
            # after completions, capacity changes, expiries and arrivals of the instant)
            self.place_due.add(p)
            if not self.place_event:
                self.place_event = True
                env.call_n(0.0, Priority.PLACE, self.on_place_cb, -1)
            return
        if self.place_due:
            self.place_due.add(p)
            self.run_placement()
        else:
            self.queues[p].place()

    def on_place(self, ev: Call) -> None:
        self.place_event = False
        self.run_placement()

    def run_placement(self) -> None:
        due = sorted(self.place_due)
        self.place_due.clear()
        for p in due:
            self.queues[p].place()

    def start(self, p: int, j: int, alloc: object) -> None:
        """Start waiting job j on pool p's reserved units at ``alloc`` (from ``fit``)."""
        pool = self.pools[p]
        jobs = self.jobs
        env = self.env
        now = env.now
        if pool.m == 1:
            assert isinstance(alloc, int)
            pool.free -= alloc
            jobs.held[j] = alloc
        else:
            jobs.held[j] = pool.take(alloc)
        jobs.alloc[j] = alloc
        jobs.state[j] = RUNNING
        self.nwaiting[p] -= 1
        jobs.send[j] = jobs.start[j] = now
        d = jobs.dur[j] / self.speed[p]
        jobs.end[j] = now + d
        jobs.ran_on[j] = 0
        if self.tracking[p]:
            self.queues[p].started(j, now + d)
        env.call_n(d, Priority.COMPLETE, self.on_complete_cb, j)

    def on_complete(self, ev: Call) -> None:
        """A job on reserved units ends: its units come back (or retire while the level is
        falling), and the pool's queue may start more."""
        j = ev.n
        jobs = self.jobs
        p = jobs.pool[j]
        foreseen = self.tracking[p] and self.queues[p].completed(j)
        pool = self.pools[p]
        if pool.m == 1 and not pool.deficit:
            pool.free += float(jobs.held[j])
        else:
            pool.release(jobs.alloc[j], float(jobs.held[j]))
        jobs.alloc[j] = None
        if self.nwaiting[p]:
            self.request_place(p, dirty=not foreseen)
        else:
            # nothing waits for the pool: no pass could start a job; the next one (at the
            # next arrival) recomputes from scratch, which every pass equals anyway
            self.queues[p].dirty = True

    def left(self, p: int, j: int) -> None:
        """Waiting job j of pool p was sent to an overflow target."""
        self.nwaiting[p] -= 1
        self.queues[p].left(j)  # the policy says what its leaving changes
        self.request_place(p, dirty=False)

    def set_reserved(self, p: int, units: int) -> None:
        """Move pool p's nominal reservation to ``units``: a pass if units came free."""
        change = self.pools[p].set_reserved(units)
        if change > 0:
            self.request_place(p)
        elif change < 0:
            self.queues[p].dirty = True
