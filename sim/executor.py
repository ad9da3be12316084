"""Local worker processes that stop when told: bounded work in flight, prompt interrupts.

Every parallel path of capsim (replications of a run, blocks of a sweep or stress test)
goes through :func:`unordered`: a ``multiprocessing`` pool fed a bounded number of tasks
at a time (memory stays flat whatever the replication count), results handed back as they
finish. On Ctrl-C, SIGTERM or any error the pool is terminated at once, not drained:
queued work is dropped, running workers are killed, and the exception goes on to the
caller (which keeps what finished and says how to resume). Workers ignore SIGINT (the
parent decides) and, on Linux, die with their parent even if it is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


def process_context() -> mp.context.BaseContext:
    """How worker processes start: ``fork`` where the platform has it.

    Forked workers inherit the loaded modules (no second import of numpy, pandas and sim per
    worker) and need no ``if __name__ == "__main__"`` guard in a user's script; elsewhere
    ``spawn``. Workers only simulate; they never touch the parent's threads (the progress bar).
    """
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def cores() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def clamp_workers(workers: int, tasks: int) -> int:
    """No more workers than tasks or cores, and at least one."""
    return max(1, min(workers, tasks, cores()))


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:  # die with the parent, even when it is killed with SIGKILL
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass


_Results = queue.Queue[tuple[int, Any, BaseException | None]]


def _put_result(results: _Results, i: int) -> Callable[[Any], None]:
    def put(value: Any) -> None:
        results.put((i, value, None))

    return put


def _put_error(results: _Results, i: int) -> Callable[[BaseException], None]:
    def put(error: BaseException) -> None:
        results.put((i, None, error))

    return put


class _Failed:
    """An exception raised in a worker, carried back as a picklable value: a pool whose
    worker raises an exception that cannot be unpickled hangs forever."""

    def __init__(self, error: BaseException) -> None:
        try:
            pickle.loads(pickle.dumps(error))
            self.error = error
        except Exception:
            self.error = RuntimeError(f"{type(error).__name__}: {error}")


def release_memory() -> None:
    """Give freed heap back to the system after a task (glibc keeps it otherwise, and a
    worker's resident memory would creep up task after task)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


BIG_WORK_SECONDS = 1.0
"""Work at least this long gets its memory released at once (a release costs ~30 ms)."""


@contextlib.contextmanager
def releasing() -> Iterator[None]:
    """Release memory after the work inside, if it was big: a seven-year replication's heap
    (hundreds of MB of small objects) goes back before the next one starts, instead of
    fragmenting under it (the baseline's workers peak at ~200 MB instead of ~460 MB)."""
    start = time.perf_counter()
    yield
    if time.perf_counter() - start >= BIG_WORK_SECONDS:
        release_memory()


def _guarded(fn: Callable[[Any], Any], task: Any) -> Any:
    try:
        return fn(task)
    except Exception as exc:
        return _Failed(exc)
    finally:
        release_memory()


def unordered(
    fn: Callable[[T], R], tasks: Iterable[T], workers: int, in_flight: int | None = None
) -> Iterator[tuple[int, R]]:
    """Yield ``(task index, fn(task))`` as tasks finish on ``workers`` processes.

    At most ``in_flight`` tasks (default two per worker) are submitted at once. If the
    consumer stops (an exception, Ctrl-C, SIGTERM turned into an exception, or closing the
    generator), the pool is terminated immediately.
    """
    limit = in_flight or 2 * workers
    results: _Results = queue.Queue()
    # the parent's objects move to the collector's permanent generation before the fork:
    # a worker's gc.collect() then never writes to the pages it shares with the parent
    # (copy-on-write would otherwise give each worker its own copy of them)
    gc.freeze()
    try:
        pool = process_context().Pool(workers, initializer=_init_worker)
    finally:
        gc.unfreeze()
    try:
        todo = iter(enumerate(tasks))
        pending = 0
        exhausted = False
        while True:
            while not exhausted and pending < limit:
                nxt = next(todo, None)
                if nxt is None:
                    exhausted = True
                    break
                i, task = nxt
                pool.apply_async(
                    _guarded,
                    (fn, task),
                    callback=_put_result(results, i),
                    error_callback=_put_error(results, i),
                )
                pending += 1
            if pending == 0:
                break
            try:
                i, value, error = results.get(timeout=0.2)  # wakes for signals
            except queue.Empty:
                continue
            pending -= 1
            if isinstance(value, _Failed):
                error = value.error
            if error is not None:
                raise error
            yield i, value
        pool.close()
        pool.join()
    finally:
        pool.terminate()  # a no-op after close and join; otherwise: stop now, drop the rest
        pool.join()
