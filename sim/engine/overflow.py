"""The overflow desk: waits that run out, jobs sent to overflow targets, and retries when a
target frees room. It owns the targets' books (capacity, units used, units claimed by this
hour's demand) and the waits' expiry heap, and calls the dispatcher when a waiting job
leaves its pool's queue."""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections import deque
from collections.abc import Callable

from sim.engine.dispatch import Dispatcher
from sim.engine.eventheap import Call, Env
from sim.engine.jobs import Jobs
from sim.engine.model import TargetSpec
from sim.engine.states import RUNNING, WAITING, Priority


class OverflowDesk:
    """Sends jobs whose wait ran out to their pool's targets, first with room first."""

    def __init__(
        self,
        env: Env,
        jobs: Jobs,
        dispatch: Dispatcher,
        targets: tuple[TargetSpec, ...],
        npools: int,
    ) -> None:
        self.env = env
        # the handlers as bound methods made once: an event scheduled with self.on_x
        # would allocate a new bound method every time
        self.on_complete_cb: Callable[[Call], None] = self.on_complete
        self.on_expire_cb: Callable[[Call], None] = self.on_expire
        self.on_expiries_cb: Callable[[Call], None] = self.on_expiries
        self.jobs = jobs
        self.dispatch = dispatch
        self.targets = targets
        # per target: capacity now (inf: unlimited; 0 while unavailable), whole units held by
        # jobs, units claimed by this hour's demand. Room = capacity − used − claimed: counts
        # are kept apart so that an unlimited target never loses units to rounding.
        self.tcap: list[float] = [t.capacity for t in targets]
        self.tused: list[int] = [0] * len(targets)
        self.tclaim: list[float] = [0.0] * len(targets)
        self.pool_targets: list[list[int]] = [[] for _ in range(npools)]
        """Each pool's targets, in the order they are tried."""
        for k, t in enumerate(targets):
            self.pool_targets[t.pool].append(k)
        # jobs waiting for an overflow target: size -> (expiry order, job), per pool
        self.owait: list[dict[int, deque[tuple[int, int]]]] = [{} for _ in range(npools)]
        self.owait_sizes: list[list[int]] = [[] for _ in range(npools)]  # owait's keys, sorted
        self.owait_seq = 0
        self.expiries: list[tuple[float, int]] = []
        self.armed = math.inf  # time of the pending expiry event

    def watch(self, j: int) -> None:
        """Job j starts waiting now: overflow it when its ``max_wait_hours`` runs out."""
        mw = self.jobs.maxwait[j]
        if mw < math.inf:
            if mw == 0.0:
                self.env.call_n(0.0, Priority.EXPIRE_NOW, self.on_expire_cb, j)
            else:
                # waits run out in a heap; one event stands for its earliest entry, so jobs
                # that start before their wait runs out (most of them) cost no event at all
                due = self.env.now + mw
                heapq.heappush(self.expiries, (due, j))
                if due < self.armed:
                    self.armed = due
                    self.env.call_n(mw, Priority.EXPIRE, self.on_expiries_cb, -1)

    def try_targets(self, j: int) -> bool:
        """Send waiting job j to the first of its pool's targets with room; say whether."""
        jobs = self.jobs
        u = jobs.units[j]
        p = jobs.pool[j]
        tcap, tused, tclaim = self.tcap, self.tused, self.tclaim
        for k in self.pool_targets[p]:
            if tcap[k] - tused[k] - tclaim[k] >= float(u):  # room(k), inline: this is hot
                t = self.targets[k]
                now = self.env.now
                tused[k] += u
                jobs.state[j] = RUNNING
                jobs.held[j] = u
                jobs.send[j] = now
                jobs.start[j] = start = now + t.startup_hours
                jobs.end[j] = end = start + jobs.dur[j] / t.speed
                jobs.ran_on[j] = k + 1
                self.env.call_n(end - now, Priority.COMPLETE, self.on_complete_cb, j)
                self.dispatch.left(p, j)
                return True
        return False

    def on_complete(self, ev: Call) -> None:
        """A job on a target ends: its units there come back; waiting jobs may go."""
        j = ev.n
        jobs = self.jobs
        self.tused[jobs.ran_on[j] - 1] -= jobs.held[j]
        self.retry_overflow(jobs.pool[j])

    def on_expire(self, ev: Call) -> None:
        self.expire(ev.n)

    def expire(self, j: int) -> None:
        jobs = self.jobs
        if jobs.state[j] != WAITING:
            return
        jobs.expired[j] = True
        p = jobs.pool[j]
        if not self.try_targets(j) and self.pool_targets[p]:
            # retried whenever a target frees room (see retry_overflow)
            self.owait_seq += 1
            u = jobs.units[j]
            buckets = self.owait[p]
            if u not in buckets:
                buckets[u] = deque()
                insort(self.owait_sizes[p], u)
            buckets[u].append((self.owait_seq, j))

    def on_expiries(self, ev: Call) -> None:
        now = self.env.now
        if now >= self.armed:
            self.armed = math.inf
        h = self.expiries
        state = self.jobs.state
        while h and h[0][0] <= now:
            j = heapq.heappop(h)[1]
            if state[j] == WAITING:
                self.expire(j)
        while h and state[h[0][1]] != WAITING:
            heapq.heappop(h)  # started before its wait ran out
        if h and h[0][0] < self.armed:
            self.armed = h[0][0]
            self.env.call_n(self.armed - now, Priority.EXPIRE, self.on_expiries_cb, -1)

    def room(self, k: int) -> float:
        """Units target k can take now (inf: unlimited; <= 0 while unavailable)."""
        return self.tcap[k] - self.tused[k] - self.tclaim[k]

    def claim(self, p: int, want: float) -> list[tuple[int, float]]:
        """This hour's demand of pool p takes room on its targets, in order, after giving
        back the last hour's claims; return (target, units) of what it took."""
        tclaim = self.tclaim
        targets = self.pool_targets[p]
        for k in targets:
            tclaim[k] = 0.0
        taken = []
        for k in targets:
            c = min(want, self.room(k))
            if c > 0:
                tclaim[k] = c
                taken.append((k, c))
                want -= c
        return taken

    def retry_overflow(self, p: int) -> None:
        """Send waiting jobs to targets that now have room, earliest-expired first.

        Jobs wait in buckets by size, each in expiry order, so a pass costs O(jobs sent ×
        sizes) rather than O(jobs waiting): the next job sent is always the earliest one
        that fits, exactly as a scan of one list in expiry order would pick.
        """
        buckets = self.owait[p]
        if not buckets:
            return
        sizes = self.owait_sizes[p]  # ascending: stop at the first size with no room
        targets = self.pool_targets[p]
        state = self.jobs.state
        tcap, tused, tclaim = self.tcap, self.tused, self.tclaim
        room = max(tcap[k] - tused[k] - tclaim[k] for k in targets)
        while True:
            best_seq, best_u = -1, -1
            for u in sizes:
                if u > room:
                    break
                dq = buckets[u]
                while dq and state[dq[0][1]] != WAITING:
                    dq.popleft()  # started on reserved units meanwhile
                if dq and (best_u < 0 or dq[0][0] < best_seq):
                    best_seq, best_u = dq[0][0], u
            if best_u < 0:
                return
            j = buckets[best_u].popleft()[1]
            self.try_targets(j)
            room = max(tcap[k] - tused[k] - tclaim[k] for k in targets)

    def on_target_capacity(self, ev: Call) -> None:
        """Target ``k`` takes capacity ``cap`` from now (the event's payload ``(k, cap)``)."""
        k, cap = ev.arg
        self.tcap[k] = cap  # running jobs stay: room may go below zero
        self.retry_overflow(self.targets[k].pool)
