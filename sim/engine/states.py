"""The constants every part of the engine shares: event priorities and job states.

This module imports nothing, so the queue-policy registry (:mod:`sim.engine.policies`),
which the scenario layer reads, stays below the rest of the engine."""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class Priority(IntEnum):
    """The order of the engine's events at one instant: SimPy runs the lower first."""

    COMPLETE = 1
    """A job ends and gives its units back."""
    TICK = 2
    """A contract-year capacity change, a speed change, the hourly demand claim."""
    EXPIRE = 3
    """A job's ``max_wait_hours`` ran out: it overflows."""
    ARRIVE = 4
    """A job is submitted."""
    PLACE = 5
    """Placement on reserved capacity, once nothing else is due."""
    EXPIRE_NOW = 6
    """A job with ``max_wait_hours = 0`` that was not placed overflows."""


# A job's state: plain ints, which the compiled engine compares as machine integers.
PENDING: Final = 0
"""Not yet arrived."""
WAITING: Final = 1
"""Queued for its pool (or for an overflow target)."""
RUNNING: Final = 2
"""Sent: started on reserved units or sent to a target (and so, once ended)."""
