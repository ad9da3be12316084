"""Soak the local executor: 100 runs each of a worker raising, SIGINT and SIGTERM at random
moments, and a worker killed from outside. Prints, for each, how many ended with the right
error or exit status, the slowest stop, and how many left a process behind.

    .venv/bin/python benchmarks/executor_soak.py [RUNS]
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim import executor
from tests.test_executor import SCRIPT, _die_at_5, _none_left, _raise_at_7, stop_at_random


def in_process(fn, error: type[BaseException], runs: int) -> tuple[int, float, int]:
    ok = slowest = left = 0
    for _ in range(runs):
        start = time.monotonic()
        try:
            for _ in executor.unordered(fn, range(200), 2):
                pass
        except error:
            ok += 1
        slowest = max(slowest, time.monotonic() - start)
        left += not _none_left()
    return ok, slowest, left


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rows = [
        ("worker raises", *in_process(_raise_at_7, ValueError, runs)),
        ("worker killed", *in_process(_die_at_5, executor.WorkerDied, runs)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "soak.py"
        script.write_text(SCRIPT)
        for name, sig, code in (("SIGINT", signal.SIGINT, 130), ("SIGTERM", signal.SIGTERM, 143)):
            rng = random.Random(int(sig))
            ok = left = 0
            slowest = 0.0
            for _ in range(runs):
                status, took, pids = stop_at_random(script, sig, rng)
                ok += status == code
                slowest = max(slowest, took)
                left += bool(pids)
            rows.append((name + " at random", ok, slowest, left))
    print(f"{'stop':<20} {'right ending':>12} {'slowest stop':>13} {'left running':>13}")
    for name, ok, slowest, left in rows:
        print(f"{name:<20} {ok:>8}/{runs:<3} {slowest:>12.2f}s {left:>13}")


if __name__ == "__main__":
    main()
