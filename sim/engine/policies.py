"""The registry of queue policies: name → class, defined here once.

The scenario model takes its allowed ``queue`` values from it, the schema and
docs/scenario.md their descriptions (each class's ``summary``), and the dispatcher the
class it builds for a pool. A new policy is a :class:`~sim.engine.queues.QueuePolicy`
subclass with a ``name`` and a ``summary``, added to :data:`QUEUE_POLICIES`.

This module and what it imports (``queues``, ``backfill``, ``states``) import nothing above
the scenario layer, so the scenario may read the registry without loading the engine."""

from __future__ import annotations

from sim.engine.backfill import EasyBackfill
from sim.engine.queues import Fifo, Priority, QueuePolicy

QUEUE_POLICIES: dict[str, type[QueuePolicy]] = {
    cls.name: cls for cls in (Fifo, Priority, EasyBackfill)
}


def describe(name: str) -> str:
    """A policy's description, in a sentence."""
    return QUEUE_POLICIES[name].summary
