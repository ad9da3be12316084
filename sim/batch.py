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
from sim.montecarlo import assemble, run_replication
from sim.results import RunResult
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


class PrefixedStore:
    """A part of another store: a second study's blocks beside the first's, under a
    prefix (a stress study's re-optimisation sweeps, one per case), so that they are
    kept, and resumed, with it."""

    def __init__(self, store: BlockStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def has(self, block_id: str) -> bool:
        return self.store.has(f"{self.prefix}-{block_id}")

    def load(self, block_id: str) -> pd.DataFrame:
        return self.store.load(f"{self.prefix}-{block_id}")

    def save(self, block_id: str, frame: pd.DataFrame) -> None:
        self.store.save(f"{self.prefix}-{block_id}", frame)


def run_block(block: Block) -> pd.DataFrame:
    """One block's rows: its labels, ``replication`` and every metric."""
    rows = []
    for i in range(block.start, block.stop):
        with executor.releasing():
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
    frames = execute_each(blocks, store, workers, backend, scheduler, progress)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def execute_each(
    blocks: Sequence[Block],
    store: Any,
    workers: int = 1,
    backend: str = "local",
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    task: Callable[[Block], Any] | None = None,
) -> list[Any]:
    """The one executor of run, sweep, stress and optimize: ``task`` on every block not
    already in ``store`` (local processes, bounded in flight, or Dask), each result saved as
    it arrives; returns every block's result in block order (``task`` defaults to
    :func:`run_block`: one row per replication)."""
    task = task if task is not None else run_block
    todo = [b for b in blocks if not store.has(b.id)]
    if progress:
        progress(sum(b.stop - b.start for b in blocks if store.has(b.id)))
    if backend == "dask":
        _execute_dask(todo, store, workers, scheduler, progress, task)
    elif workers <= 1 or len(todo) <= 1:
        for b in todo:
            store.save(b.id, task(b))
            if progress:
                progress(b.stop - b.start)
    else:
        _execute_local(todo, store, workers, progress, task)
    return [store.load(b.id) for b in blocks]


def _execute_local(
    todo: Sequence[Block],
    store: Any,
    workers: int,
    progress: ProgressFn | None,
    task: Callable[[Block], Any] = run_block,
) -> None:
    # a bounded number of blocks in flight, so memory stays flat; each finished block is
    # saved at once, so an interrupt loses only the blocks still running
    workers = executor.clamp_workers(workers, len(todo))
    for n, result in executor.unordered(task, todo, workers):
        b = todo[n]
        store.save(b.id, result)
        if progress:
            progress(b.stop - b.start)


def _execute_dask(
    todo: Sequence[Block],
    store: Any,
    workers: int,
    scheduler: str | None,
    progress: ProgressFn | None,
    task: Callable[[Block], Any] = run_block,
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
        futures = {client.submit(task, b, pure=False): b for b in todo}
        for f in as_completed(futures):
            b = futures[f]
            store.save(b.id, f.result())
            if progress:
                progress(b.stop - b.start)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- runs

RUN_BLOCK = 10
"""Most replications per block of a resumable run (``capsim run``)."""


def run_block_size(n: int) -> int:
    """Replications per block of an n-replication run: at most :data:`RUN_BLOCK`, and at
    least 8 blocks when n allows, so that a short run still spreads over the workers. It
    depends on n alone: an interrupted run resumes on the same blocks whatever --workers."""
    return max(1, min(RUN_BLOCK, n // 8))


_FRAMES = ("replications", "timeseries", "spend", "waits", "contract", "jobs", "purchases")


def run_blocks(scenario: Scenario, seed: int, n: int, record_jobs: bool = False) -> list[Block]:
    """Replications 0..n-1 as blocks (:func:`run_block_size`): the units of work and of
    resume."""
    size = run_block_size(n)
    return [
        Block(
            f"r{a:07d}-{min(a + size, n):07d}",
            0,
            scenario,
            seed,
            a,
            min(a + size, n),
            {"record_jobs": record_jobs},
        )
        for a in range(0, n, size)
    ]


def run_frames(block: Block) -> dict[str, pd.DataFrame]:
    """One block's tidy frames (what :func:`assemble` makes of its replications)."""
    record = bool(block.labels.get("record_jobs", False))
    reps = []
    for i in range(block.start, block.stop):
        with executor.releasing():  # a big replication's heap back before the next one
            reps.append(run_replication(block.scenario, block.seed, i, record))
    r = assemble(block.scenario, block.seed, reps, record)
    frames = {name: getattr(r, name) for name in _FRAMES}
    return {k: v for k, v in frames.items() if v is not None}


def combine(scenario: Scenario, seed: int, parts: Sequence[dict[str, pd.DataFrame]]) -> RunResult:
    """Join blocks' frames, in block order, into one result (the same frames as
    :func:`assemble` of all the replications at once)."""

    def cat(name: str) -> pd.DataFrame | None:
        frames = [p[name] for p in parts if name in p]
        return pd.concat(frames, ignore_index=True) if frames else None

    replications = cat("replications")
    timeseries = cat("timeseries")
    assert replications is not None and timeseries is not None
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=replications,
        timeseries=timeseries,
        spend=cat("spend"),
        waits=cat("waits"),
        contract=cat("contract"),
        jobs=cat("jobs"),
        purchases=cat("purchases"),
    )
