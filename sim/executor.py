"""Local worker processes that stop when told: bounded work in flight, prompt interrupts.

Every parallel path of capsim (replications of a run, blocks of a sweep or stress test)
goes through :func:`unordered`: the standard library's
:class:`concurrent.futures.ProcessPoolExecutor` fed a bounded number of tasks at a time
(memory stays flat whatever the replication count), results handed back as they finish.
The executor gives each worker its own result path and watches every worker's process, so
a worker that dies is reported (:class:`WorkerDied`) instead of waited for. On Ctrl-C,
SIGTERM or any error every worker is killed at once, not drained, the pool is shut down,
and the exception goes on to the caller (which keeps what finished and says how to
resume). Signals that arrive while work is in flight are noted and raised between the
loop's own steps, never inside the executor's. Workers ignore SIGINT (the parent decides)
and, on Linux, die with their parent even if it is killed outright. Why this executor and
not ``multiprocessing.Pool`` (whose ``terminate`` could hang): docs/design.md.
"""

from __future__ import annotations

import concurrent.futures.process
import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
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
"""Work at least this long gets its memory released at once (a release costs ~20–30 ms)."""
BIG_WORK_MB = 32.0
"""So does work that grew the process's resident memory by at least this much: a baseline
replication now takes under a second but leaves ~65 MB of heap behind (time alone missed
it, and a worker crept from ~130 MB to ~300 MB before the collector caught up)."""


def resident_mb() -> float | None:
    """This process's resident memory in MB (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@contextlib.contextmanager
def releasing() -> Iterator[None]:
    """Release memory after the work inside, if it was big (long, or grew the heap): a
    seven-year replication's heap (hundreds of MB of small objects) goes back before the
    next one starts, instead of fragmenting under it (the baseline's workers peak at ~200 MB
    instead of ~460 MB). Small work does not pay for a release."""
    start = time.perf_counter()
    before = resident_mb()
    yield
    after = resident_mb()
    grew = before is not None and after is not None and after - before >= BIG_WORK_MB
    if grew or time.perf_counter() - start >= BIG_WORK_SECONDS:
        release_memory()


def _guarded(fn: Callable[[Any], Any], task: Any) -> Any:
    try:
        return fn(task)
    except Exception as exc:
        return _Failed(exc)
    finally:
        release_memory()


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of ``pool`` now (Python 3.14 has ``kill_workers``; before it the
    executor keeps its processes in ``_processes``, a stable attribute since 3.2)."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:  # pragma: no cover - Python 3.14+
        with contextlib.suppress(Exception):
            kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()


SHUTDOWN_SECONDS = 10.0
"""How long a pool whose workers were killed may take to wind down before the caller goes on
without it (its manager thread then ends on its own, or with the process)."""


def _shut_down_killed(pool: ProcessPoolExecutor) -> None:
    """Shut down a pool whose workers were just killed, without waiting for ever: the
    executor's manager thread sees the dead workers and ends, but a feeder thread stuck on a
    full pipe to a killed worker can keep it (CPython gh-107219, fixed on Windows only), so
    it is given :data:`SHUTDOWN_SECONDS`, and not joined again at interpreter exit."""
    # the manager thread is taken before shutdown(), which forgets it: read after, it was
    # always None, so it was never joined nor taken off the registry, and a stop could end
    # in that traceback at exit (seen once in CI after a SIGTERM)
    thread = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    if thread is None:
        return
    thread.join(SHUTDOWN_SECONDS)
    # not woken nor joined again at interpreter exit: its wakeup pipe may be closed by then
    # (a "Bad file descriptor" traceback after a clean stop), or it may be the stuck one
    registry = getattr(concurrent.futures.process, "_threads_wakeups", None)
    if registry is not None:
        registry.pop(thread, None)


class WorkerDied(RuntimeError):
    """A worker process ended without returning (killed from outside, out of memory)."""


class _Signals:
    """While work is in flight, SIGINT and SIGTERM are only noted; the loop that owns the
    pool raises them between its own steps (through the handler that was installed before),
    never inside the executor's code, where an exception could leave a lock held."""

    WATCHED = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for s in self.WATCHED:
                self.previous[s] = signal.signal(s, self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def _note(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def deliver(self) -> None:
        """Raise what a noted signal would have raised under the previous handler."""
        if not self.pending:
            return
        signum = self.pending.pop(0)
        handler = self.previous.get(signum)
        if handler == signal.SIG_IGN:
            return
        if callable(handler):
            handler(signum, None)
        if signum == signal.SIGINT or handler == signal.default_int_handler:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


def unordered(
    fn: Callable[[T], R], tasks: Iterable[T], workers: int, in_flight: int | None = None
) -> Iterator[tuple[int, R]]:
    """Yield ``(task index, fn(task))`` as tasks finish on ``workers`` processes.

    At most ``in_flight`` tasks (default two per worker) are submitted at once. If the
    consumer stops (an exception, Ctrl-C, SIGTERM turned into an exception, or closing the
    generator), or a worker raises or dies, every worker is killed at once and the pool shut
    down before the exception goes on: nothing is left running.
    """
    limit = in_flight or 2 * workers
    todo = iter(enumerate(tasks))
    pending: dict[Future[Any], int] = {}
    with _Signals() as signals:
        pool = ProcessPoolExecutor(workers, mp_context=process_context(), initializer=_init_worker)
        finished = False
        try:
            first = True
            while True:
                while len(pending) < limit:
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    i, task = nxt
                    if first:
                        # workers fork at the first submit: the parent's objects move to the
                        # collector's permanent generation before it, so a worker's collection
                        # never writes to the pages it shares with the parent
                        gc.freeze()
                    try:
                        pending[pool.submit(_guarded, fn, task)] = i
                    finally:
                        if first:
                            gc.unfreeze()
                            first = False
                signals.deliver()
                if not pending:
                    break
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                signals.deliver()
                for future in done:
                    i = pending.pop(future)
                    try:
                        value = future.result()
                    except BrokenProcessPool:
                        raise WorkerDied(
                            "a worker process died without a result (killed from outside or "
                            "out of memory); finished work is kept"
                        ) from None
                    if isinstance(value, _Failed):
                        raise value.error
                    yield i, value
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:
                _kill_workers(pool)
                _shut_down_killed(pool)
