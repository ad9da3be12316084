"""Overflow targets: waits that run out, sending jobs to targets, retrying when room frees."""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections import deque

from sim.engine.books import CapacityBooks
from sim.engine.clock import Call
from sim.engine.model import (
    COMPLETE,
    EXPIRE,
    RUNNING,
    WAITING,
)


class Overflow(CapacityBooks):
    def try_targets(self, j: int) -> bool:
        """Send waiting job j to the first of its pool's targets with room; say whether."""
        u = self.units[j]
        p = self.jpool[j]
        tcap, tused, tclaim = self.tcap, self.tused, self.tclaim
        for k in self.pool_targets[p]:
            if tcap[k] - tused[k] - tclaim[k] >= u:  # room(k), inline: this is hot
                t = self.targets[k]
                now = self.env.now
                tused[k] += u
                self.state[j] = RUNNING
                self.nwaiting[p] -= 1
                self.held[j] = u
                self.send[j] = now
                self.start[j] = start = now + t.startup_hours
                self.end[j] = end = start + self.dur[j] / t.speed
                self.ran_on[j] = k + 1
                self.at(end - now, COMPLETE, self.on_complete, j)
                self.queues[p].left(j)  # the policy says what its leaving changes
                self.request_place(p, dirty=False)
                return True
        return False

    def on_expire(self, ev: Call) -> None:
        self.expire(ev.arg)

    def expire(self, j: int) -> None:
        if self.state[j] != WAITING:
            return
        self.expired[j] = True
        p = self.jpool[j]
        if not self.try_targets(j) and self.pool_targets[p]:
            # retried whenever a target frees room (see retry_overflow)
            self.owait_seq += 1
            u = self.units[j]
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
        state = self.state
        while h and h[0][0] <= now:
            j = heapq.heappop(h)[1]
            if state[j] == WAITING:
                self.expire(j)
        while h and state[h[0][1]] != WAITING:
            heapq.heappop(h)  # started before its wait ran out
        if h and h[0][0] < self.armed:
            self.armed = h[0][0]
            self.at(self.armed - now, EXPIRE, self.on_expiries, -1)

    def room(self, k: int) -> float:
        """Units target k can take now (inf: unlimited; <= 0 while unavailable)."""
        return self.tcap[k] - self.tused[k] - self.tclaim[k]

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
        state = self.state
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
        k, cap = self.target_events[ev.arg]
        self.tcap[k] = cap  # running jobs stay: room may go below zero
        self.retry_overflow(self.targets[k].pool)
