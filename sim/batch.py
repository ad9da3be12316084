"""Running blocks of replications of many scenario variants, locally or on Dask.

A *block* is a range of replication indices of one variant (a sweep point, a stress
case). Blocks are independent and each result is a small frame, so they can run in any
order on any worker; every replication still draws from ``SeedSequence(seed)`` by its
index, so the numbers never depend on where or when it ran. Finished blocks go to a
:class:`BlockStore` as soon as they arrive, which is what lets an interrupted sweep
resume without redoing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from sim import executor
from sim.montecarlo import run_replication
from sim.scenario import Scenario

ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class Block:
    """Replications ``start .. stop-1`` of one variant."""

    id: str
    variant: int
    scenario: Scenario = field(repr=False)
    seed: int
    start: int
    stop: int
    labels: dict[str, Any] = field(default_factory=dict)


class BlockStore(Protocol):
    """Where finished blocks go (a folder of Parquet files, or memory)."""

    def has(self, block_id: str) -> bool: ...
    def load(self, block_id: str) -> pd.DataFrame: ...
    def save(self, block_id: str, frame: pd.DataFrame) -> None: ...


class MemoryStore:
    """Blocks kept in memory (no resume)."""

    def __init__(self) -> None:
        self.frames: dict[str, pd.DataFrame] = {}

    def has(self, block_id: str) -> bool:
        return block_id in self.frames

    def load(self, block_id: str) -> pd.DataFrame:
        return self.frames[block_id]

    def save(self, block_id: str, frame: pd.DataFrame) -> None:
        self.frames[block_id] = frame


def run_block(block: Block) -> pd.DataFrame:
    """One block's rows: its labels, ``replication`` and every metric."""
    rows = []
    for i in range(block.start, block.stop):
        rep = run_replication(block.scenario, block.seed, i)
        rows.append({**block.labels, "replication": i, **rep.metrics})
    frame = pd.DataFrame(rows)
    frame["replication"] = frame["replication"].astype("int64")
    return frame


def execute(
    blocks: Sequence[Block],
    store: BlockStore,
    workers: int = 1,
    backend: str = "local",
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Run every block not already in ``store``; return all rows in block order."""
    todo = [b for b in blocks if not store.has(b.id)]
    if progress:
        progress(sum(b.stop - b.start for b in blocks if store.has(b.id)))
    if backend == "dask":
        _execute_dask(todo, store, workers, scheduler, progress)
    elif workers <= 1 or len(todo) <= 1:
        for b in todo:
            store.save(b.id, run_block(b))
            if progress:
                progress(b.stop - b.start)
    else:
        _execute_local(todo, store, workers, progress)
    frames = [store.load(b.id) for b in blocks]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _execute_local(
    todo: Sequence[Block], store: BlockStore, workers: int, progress: ProgressFn | None
) -> None:
    # a bounded number of blocks in flight, so memory stays flat; each finished block is
    # saved at once, so an interrupt loses only the blocks still running
    workers = executor.clamp_workers(workers, len(todo))
    for n, frame in executor.unordered(run_block, todo, workers):
        b = todo[n]
        store.save(b.id, frame)
        if progress:
            progress(b.stop - b.start)


def _execute_dask(
    todo: Sequence[Block],
    store: BlockStore,
    workers: int,
    scheduler: str | None,
    progress: ProgressFn | None,
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the install
        from sim.errors import ScenarioError

        raise ScenarioError(
            "--backend", "dask", "needs dask.distributed: pip install 'capsim[dask]'"
        ) from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = {client.submit(run_block, b, pure=False): b for b in todo}
        for f in as_completed(futures):
            b = futures[f]
            store.save(b.id, f.result())
            if progress:
                progress(b.stop - b.start)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
