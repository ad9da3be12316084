"""capsim benchmarks (``make bench``): speed and memory, as ratios measured in one run.

0. The compiled engine against the same sources interpreted (CAPSIM_PURE_PYTHON=1): a whole
   ``capsim run configs/baseline.toml -n 1``, in turn, with identical summary.json:
   target ≥ 2.5× faster.

1. The engine against a plain-Python heapq event loop doing the same gang-FIFO work
   (500,000 jobs on one fungible pool, strict FIFO): target ≤ 3× (aim 1.5×). The two must
   agree job by job, or the comparison means nothing.
2. One seven-year replication of configs/baseline.toml on one core: target < 3 s.
3. Peak memory of a 1,000-replication run (summaries kept, per-job records not): < 1 GB.
4. Replications per hour of the baseline on 1 and 2 worker processes; scaling efficiency.

Absolute times depend on the machine; the ratios are what to compare between runs.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import engine  # noqa: E402
from sim.montecarlo import run, run_replication  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.workload import JobStream  # noqa: E402


def gang_jobs(n: int, capacity: int, seed: int = 1) -> JobStream:
    rng = np.random.default_rng(seed)
    units = rng.choice([1, 2, 4, 8], size=n, p=[0.4, 0.3, 0.2, 0.1])
    dur = rng.exponential(4.0, n)
    load = 0.85
    rate = load * capacity / (units.mean() * 4.0)
    submit = np.cumsum(rng.exponential(1 / rate, n))
    z = np.zeros(n)
    return JobStream(
        submit,
        units.astype(np.int64),
        dur,
        np.full(n, np.inf),
        z,
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
    )


def heapq_gang_fifo(jobs: JobStream, capacity: int) -> list[float]:
    """The same semantics, the plainest way: completions, then arrivals, then FIFO placement."""
    submit = jobs.submit_hours.tolist()
    units = jobs.units.tolist()
    dur = jobs.duration_hours.tolist()
    start = [float("nan")] * len(submit)
    events: list[tuple[float, int, int]] = []  # (time, kind 0=completion 1=arrival, job)
    for j, t in enumerate(submit[:1]):
        heapq.heappush(events, (t, 1, j))
    free = capacity
    queue: deque[int] = deque()
    n = len(submit)
    while events:
        t, kind, j = heapq.heappop(events)
        if kind == 0:
            free += units[j]
        else:
            queue.append(j)
            if j + 1 < n:
                heapq.heappush(events, (submit[j + 1], 1, j + 1))
        if events and events[0][0] == t:
            continue  # more at this instant: place once they are all in
        while queue and units[queue[0]] <= free:
            k = queue.popleft()
            free -= units[k]
            start[k] = t
            heapq.heappush(events, (t + dur[k], 0, k))
    return start


def bench_engine_vs_heapq(n: int = 500_000, capacity: int = 64) -> dict[str, float]:
    jobs = gang_jobs(n, capacity)
    horizon = float(jobs.submit_hours[-1] + 1e6)
    inp = engine.EngineInput(
        horizon, (engine.PoolSpec("p", 1, ((0.0, capacity),)),), (), jobs, (None,), "fifo"
    )
    t0 = time.perf_counter()
    ref = heapq_gang_fifo(jobs, capacity)
    t_heapq = time.perf_counter() - t0
    t0 = time.perf_counter()
    rec = engine.simulate(inp)
    t_engine = time.perf_counter() - t0
    agree = bool(np.allclose(rec.start_hours, np.asarray(ref), rtol=0, atol=1e-6))
    return {
        "jobs": n,
        "heapq_s": t_heapq,
        "engine_s": t_engine,
        "ratio": t_engine / t_heapq,
        "jobs_per_s": n / t_engine,
        "agree_job_by_job": agree,
        "simpy_floor_s": simpy_floor(jobs.submit_hours.tolist(), jobs.duration_hours.tolist()),
        "twin_floor_s": twin_floor(jobs.submit_hours.tolist(), jobs.duration_hours.tolist()),
    }


def simpy_floor(submit: list[float], dur: list[float], horizon: float = math.inf) -> float:
    """Seconds SimPy alone takes for one arrival and one completion event per job, through
    the engine's SimPy event class, with callbacks that do nothing: the floor under any
    engine that keeps SimPy as its clock (the interpreted engine's)."""
    from sim.engine.clock import Call, Env

    env = Env()
    n = len(submit)

    def done(ev: Call) -> None:
        pass

    def arrive(ev: Call) -> None:
        j = ev.arg
        if j + 1 < n:
            Call(env, submit[j + 1] - env.now, 4, arrive, j + 1)
        if dur[j] == dur[j]:  # a job that started (NaN: never)
            Call(env, dur[j], 0, done, j)

    Call(env, submit[0], 4, arrive, 0)
    t0 = time.perf_counter()
    env.run(until=horizon if math.isfinite(horizon) else None)
    return time.perf_counter() - t0


def twin_floor(submit: list[float], dur: list[float], horizon: float = math.inf) -> float:
    """The same events on the compiled engine's clock (sim.engine.eventheap, SimPy's twin),
    with callbacks that do nothing: the floor under the compiled engine."""
    from sim.engine.eventheap import Env

    env = Env()
    n = len(submit)

    def done(ev: object) -> None:
        pass

    def arrive(ev: object) -> None:
        j = ev.arg  # type: ignore[attr-defined]
        if j + 1 < n:
            env.call(submit[j + 1] - env.now, 4, arrive, j + 1)
        if dur[j] == dur[j]:  # a job that started (NaN: never)
            env.call(dur[j], 0, done, j)

    env.call(submit[0], 4, arrive, 0)
    t0 = time.perf_counter()
    env.run(until=horizon if math.isfinite(horizon) else None)
    return time.perf_counter() - t0


def bench_baseline_replication() -> dict[str, float]:
    sc = load_scenario(ROOT / "configs/baseline.toml")
    run_replication(sc, sc.seed, 0)  # warm-up (imports, caches)
    times = []
    for i in range(1, 4):
        t0 = time.perf_counter()
        rep = run_replication(sc, sc.seed, i)
        times.append(time.perf_counter() - t0)
    jobs = sum(v for k, v in rep.metrics.items() if k.startswith("jobs_arrived."))
    return {"median_s": float(np.median(times)), "min_s": min(times), "jobs": jobs}


def bench_boom_vs_baseline() -> dict[str, float]:
    """The demand-boom stress case's replication against the baseline's (same seeds)."""
    from sim.stress import load_case

    base = load_scenario(ROOT / "configs/baseline.toml")
    boom = load_case(base, ROOT / "configs/stress/demand-boom.toml").scenario
    out = {}
    for name, sc in (("baseline", base), ("boom", boom)):
        times = []
        for i in range(1, 3):
            t0 = time.perf_counter()
            run_replication(sc, sc.seed, i)
            times.append(time.perf_counter() - t0)
        out[name] = float(np.median(times))
    return {
        "baseline_s": out["baseline"],
        "boom_s": out["boom"],
        "ratio": out["boom"] / out["baseline"],
    }


def bench_profile() -> dict[str, float]:
    """Where a baseline replication's time goes: building the engine's input (workload draws),
    the engine, the metrics and the controls; and the engine's floor, SimPy alone: the same
    number of arrival and completion events with callbacks that do nothing. What lies between
    the floor and the engine is the engine's own Python (placement, books, backfill), the
    part a compiled kernel behind the same interface could take."""
    from sim import metrics
    from sim.montecarlo import build_input, names_of, offered_work_controls

    sc = load_scenario(ROOT / "configs/baseline.toml")
    parts: dict[str, list[float]] = {"build": [], "engine": [], "metrics": [], "controls": []}
    for i in range(1, 4):
        t0 = time.perf_counter()
        inp, prices, paths = build_input(sc, sc.seed, i)
        t1 = time.perf_counter()
        rec = engine.simulate(inp)
        t2 = time.perf_counter()
        metrics.compute(rec, names_of(sc), prices, paths)
        t3 = time.perf_counter()
        offered_work_controls(sc, sc.seed, i, inp, paths)
        t4 = time.perf_counter()
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            parts[k].append(v)
    submit = rec.jobs.submit_hours.tolist()
    dur = (rec.end_hours - rec.start_hours).tolist()
    started = sum(1 for d in dur if d == d)  # noqa: PLR0124 (NaN test)

    out = {k: float(np.median(v)) for k, v in parts.items()}
    floors = [simpy_floor(submit, dur, rec.horizon_hours) for _ in range(3)]
    out["simpy_floor"] = float(np.median(floors))
    out["twin_floor"] = float(
        np.median([twin_floor(submit, dur, rec.horizon_hours) for _ in range(3)])
    )
    out["events"] = float(len(submit) + started)
    return out


def bench_control_variates(n: int = 80) -> dict[str, float]:
    """CI width of the adjusted (control-variate) estimate over the plain one, on the
    baseline's spend, idle and overflow metrics, from one run of n replications."""
    sc = load_scenario(ROOT / "configs/baseline.toml")
    res = run(sc, n=n, workers=2)
    summary, adjusted = res.summary(), res.adjusted()
    ratios = {}
    for name in (
        "spend_usd.total",
        "spend_usd.overflow",
        "idle_unit_hours.trainium",
        "idle_unit_hours.graviton",
    ):
        if name in adjusted and name in summary:
            a, s = adjusted[name], summary[name]
            plain = s["ci95_high"] - s["ci95_low"]
            if plain > 0:
                ratios[name] = (a["ci95_high"] - a["ci95_low"]) / plain
    return {"replications": n, **ratios}


def bench_eta(n: int = 40) -> dict[str, float]:
    """The ETA a user sees after the first block against the truth: ``capsim run`` of the
    baseline with ``n`` replications on 2 workers, its stderr read as it comes; the truth is
    the time from that line to the process's end (final files included)."""
    import re

    capsim = Path(sys.executable).with_name("capsim")
    cmd = [str(capsim), "run", str(ROOT / "configs/baseline.toml"), "-n", str(n)]
    cmd += ["--workers", "2", "--out", str(ROOT / "runs" / "bench-eta"), "--force"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said, at = math.nan, math.nan
    assert proc.stderr is not None
    for line in proc.stderr:
        # as cli.common's _duration words it: "45 s", "3 min 20 s", "2 h 5 min"
        m = re.search(r"about (?:(\d+) h ?)?(?:(\d+) min ?)?(?:(\d+) s )?to go", line)
        if m and math.isnan(said):
            at = time.perf_counter()
            h, mins, secs = (int(g) if g else 0 for g in m.groups())
            said = 3600 * h + 60 * mins + secs
    proc.wait(timeout=3600)
    truth = time.perf_counter() - at
    return {"said_s": said, "truth_s": truth, "error": (said - truth) / truth}


ENGINE_TIMING = """
import sys, time
sys.path.insert(0, sys.argv[1])
from sim import engine
from sim.montecarlo import build_input
from sim.scenario import load_scenario
sc = load_scenario(sys.argv[1] + "/configs/baseline.toml")
inputs = [build_input(sc, sc.seed, i)[0] for i in range(1, 4)]
engine.simulate(inputs[0])
times = []
for inp in inputs + inputs:
    t = time.perf_counter()
    engine.simulate(inp)
    times.append(time.perf_counter() - t)
print(sorted(times)[len(times) // 2], engine.native.Status.reason)
"""


def bench_engine_against(reference: Path, rounds: int = 3) -> dict[str, float | str]:
    """The engine of this tree against a reference tree's (a checkout of an earlier commit,
    with its compiled modules if it had them), on the same baseline inputs, in alternating
    fresh processes: the paired A/B a refactor of the engine is held to."""
    this, ref = [], []
    engines = {}
    for _ in range(rounds):
        for tree, out in ((reference, ref), (ROOT, this)):
            done = subprocess.run(
                [sys.executable, "-c", ENGINE_TIMING, str(tree)],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            seconds, reason = done.stdout.split(maxsplit=1)
            out.append(float(seconds))
            engines[str(tree)] = reason.strip()
    return {
        "this_s": float(np.median(this)),
        "reference_s": float(np.median(ref)),
        "ratio": float(np.median([a / b for a, b in zip(this, ref, strict=True)])),
        "engines": "; ".join(f"{k}: {v}" for k, v in engines.items()),
    }


def bench_startup() -> dict[str, float]:
    """Seconds from process start to the first replication (imports and loading), and a
    whole ``capsim run configs/baseline.toml -n 1`` as a process (median of 3)."""
    code = (
        "import time, sys; t = time.perf_counter()\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import sim.cli\nfrom sim.scenario import load_scenario\nfrom sim import montecarlo\n"
        f"load_scenario({str(ROOT / 'configs/baseline.toml')!r})\n"
        "print(time.perf_counter() - t)\n"
    )
    starts, wholes = [], []
    capsim = Path(sys.executable).with_name("capsim")
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        starts.append(float(out.stdout.strip()))
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(capsim),
                "run",
                str(ROOT / "configs/baseline.toml"),
                "-n",
                "1",
                "--workers",
                "1",
                "--out",
                str(ROOT / "runs" / "bench-startup"),
                "--force",
            ],
            capture_output=True,
            check=True,
        )
        wholes.append(time.perf_counter() - t0)
    return {"startup_s": float(np.median(starts)), "run_n1_s": float(np.median(wholes))}


def bench_memory(n: int = 1000) -> dict[str, float]:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from sim.montecarlo import run\nfrom sim.scenario import load_scenario\n"
        f"sc = load_scenario({str(ROOT / 'configs/examples/mmc.toml')!r}, ['scenario.years=0.5'])\n"
        f"r = run(sc, n={n}, workers=2)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(hwm, len(r.replications))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # VmHWM is this process's own peak (ru_maxrss would inherit the benchmark's across exec)
    hwm_kb, reps = out.stdout.split()
    return {"replications": int(reps), "peak_mb": int(hwm_kb) / 1024}


def bench_memory_tree(n: int = 40) -> dict[str, float]:
    """Peak memory of ``capsim run configs/baseline.toml -n N --workers 2`` over the whole
    process tree, sampled every 0.1 s: the sum of proportional set sizes (PSS: pages a
    forked worker shares with its parent count once), and the largest worker's unique set."""
    import psutil

    capsim = Path(sys.executable).with_name("capsim")
    proc = subprocess.Popen(
        [
            str(capsim),
            "run",
            str(ROOT / "configs/baseline.toml"),
            "-n",
            str(n),
            "--workers",
            "2",
            "--out",
            str(ROOT / "runs" / "bench-memory"),
            "--force",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    peak = worker = 0
    while proc.poll() is None:
        try:
            infos = [p.memory_full_info() for p in parent.children(recursive=True)]
            own = parent.memory_full_info()
            peak = max(peak, own.pss + sum(i.pss for i in infos))
            worker = max([worker, *(i.uss for i in infos)])
        except psutil.Error:
            pass
        time.sleep(0.1)
    return {"replications": n, "peak_mb": peak / 2**20, "worker_mb": worker / 2**20}


def bench_scaling(n: int = 8) -> dict[str, float]:
    sc = load_scenario(ROOT / "configs/baseline.toml")
    out = {}
    for w in (1, 2):
        t0 = time.perf_counter()
        run(sc, n=n, workers=w)
        out[w] = time.perf_counter() - t0
    return {
        "replications": n,
        "one_worker_per_hour": n / out[1] * 3600,
        "two_workers_per_hour": n / out[2] * 3600,
        "efficiency": out[1] / (2 * out[2]),
    }


def bench_compiled_vs_interpreted(pairs: int = 3) -> dict[str, float]:
    """A whole ``capsim run configs/baseline.toml -n 1 --workers 1``, compiled and
    interpreted in turn (A B A B ...: drift hits both), and whether their metrics agree."""
    import os

    from sim.engine import native

    capsim = Path(sys.executable).with_name("capsim")
    times: dict[str, list[float]] = {"compiled": [], "interpreted": []}
    for _ in range(pairs):
        for mode, took in times.items():
            env = {**os.environ}
            if mode == "interpreted":
                env[native.PURE_ENV] = "1"
            out = ROOT / "runs" / f"bench-{mode}"
            t0 = time.perf_counter()
            subprocess.run(
                [str(capsim), "run", str(ROOT / "configs/baseline.toml"), "-n", "1",
                 "--workers", "1", "--out", str(out), "--force"],
                capture_output=True, check=True, env=env,
            )  # fmt: skip
            took.append(time.perf_counter() - t0)
    metrics = [
        json.loads((ROOT / "runs" / f"bench-{m}" / "summary.json").read_text())["metrics"]
        for m in times
    ]
    ratios = [i / c for c, i in zip(times["compiled"], times["interpreted"], strict=True)]
    return {
        "compiled_s": float(np.median(times["compiled"])),
        "interpreted_s": float(np.median(times["interpreted"])),
        "speedup": float(np.median(ratios)),
        "identical_summary": metrics[0] == metrics[1],
        "engine": native.Status.reason,
    }


def main() -> None:
    results = {}
    print("0. compiled engine against the same sources interpreted ...", flush=True)
    results["compiled"] = r = bench_compiled_vs_interpreted()
    print(
        f"   capsim run baseline -n 1: compiled {r['compiled_s']:.2f} s, interpreted "
        f"{r['interpreted_s']:.2f} s: {r['speedup']:.2f}x faster (target >= 2.5x); identical "
        f"summary.json: {r['identical_summary']} ({r['engine']})"
    )
    print("1. engine vs plain heapq loop, gang FIFO ...", flush=True)
    results["engine_vs_heapq"] = r = bench_engine_vs_heapq()
    print(
        f"   {r['jobs']:,} jobs: heapq {r['heapq_s']:.2f} s, engine {r['engine_s']:.2f} s, "
        f"ratio {r['ratio']:.2f}x (target <= 1.5x), {r['jobs_per_s']:,.0f} jobs/s, "
        f"same start times: {r['agree_job_by_job']}; SimPy alone for the same 1,000,000 "
        f"events {r['simpy_floor_s']:.2f} s ({r['simpy_floor_s'] / r['heapq_s']:.2f}x the "
        f"heapq loop): the engine is {r['engine_s'] / r['simpy_floor_s']:.2f}x SimPy's floor "
        f"(target <= 1.3x); its own clock (SimPy's compiled twin) alone {r['twin_floor_s']:.2f} s"
    )
    print("2. baseline seven-year replication, one core ...", flush=True)
    results["baseline_replication"] = r = bench_baseline_replication()
    print(
        f"   median {r['median_s']:.2f} s (min {r['min_s']:.2f} s) for {r['jobs']:,.0f} jobs "
        "(target <= 1.2 s)"
    )
    print("2b. the demand-boom stress case against the baseline ...", flush=True)
    results["boom_vs_baseline"] = r = bench_boom_vs_baseline()
    print(
        f"   baseline {r['baseline_s']:.2f} s, boom {r['boom_s']:.2f} s: "
        f"ratio {r['ratio']:.2f}x (target <= 2x)"
    )
    print("2c. where a baseline replication's time goes ...", flush=True)
    results["profile"] = r = bench_profile()
    print(
        f"   build {r['build']:.2f} s, engine {r['engine']:.2f} s, metrics {r['metrics']:.2f} s, "
        f"controls {r['controls']:.2f} s; SimPy alone for the same {r['events']:,.0f} events "
        f"{r['simpy_floor']:.2f} s, on the compiled engine's clock (SimPy's twin) "
        f"{r['twin_floor']:.2f} s: the engine's own code is {r['engine'] - r['twin_floor']:.2f} s"
    )
    print("2d. start-up ...", flush=True)
    results["startup"] = r = bench_startup()
    print(
        f"   imports and loading the baseline {r['startup_s']:.2f} s (target <= 0.4 s); "
        f"capsim run configs/baseline.toml -n 1, whole process, {r['run_n1_s']:.2f} s "
        "(target <= 2.5 s)"
    )
    print("3. memory of a 1,000-replication run ...", flush=True)
    results["memory"] = r = bench_memory()
    print(
        f"   {r['replications']} replications: peak {r['peak_mb']:.0f} MB in the process "
        "holding the results (target < 1 GB)"
    )
    print("3b. memory of a baseline run, whole process tree ...", flush=True)
    results["memory_tree"] = r = bench_memory_tree()
    print(
        f"   {r['replications']} baseline replications on 2 workers: peak {r['peak_mb']:.0f} MB "
        f"(PSS) summed over the parent and its workers, largest worker {r['worker_mb']:.0f} MB "
        "(target < 1 GB)"
    )
    print("4. scaling: baseline replications per hour ...", flush=True)
    results["scaling"] = r = bench_scaling()
    print(
        f"   1 worker {r['one_worker_per_hour']:,.0f}/h, "
        f"2 workers {r['two_workers_per_hour']:,.0f}/h, "
        f"efficiency {r['efficiency']:.0%} (aim >= 90%); 1,000 replications on 2 workers "
        f"take about {1000 / r['two_workers_per_hour'] * 60:.0f} min (target <= 12 min)"
    )
    print("5. control variates: adjusted CI width over plain, baseline ...", flush=True)
    results["control_variates"] = r = bench_control_variates()
    widths = ", ".join(f"{k} {v:.2f}x" for k, v in r.items() if k != "replications")
    print(f"   {r['replications']} replications: {widths}")
    print("6. progress: the ETA after the first block against the truth ...", flush=True)
    results["eta"] = r = bench_eta()
    print(
        f"   40 baseline replications on 2 workers: said {r['said_s']:.0f} s to go, took "
        f"{r['truth_s']:.0f} s: {r['error']:+.0%} (target within 30 %)"
    )
    reference = os.environ.get("CAPSIM_BENCH_REFERENCE")
    print("7. the engine against a reference tree (CAPSIM_BENCH_REFERENCE) ...", flush=True)
    if reference:
        results["engine_ab"] = r = bench_engine_against(Path(reference))
        print(
            f"   this tree {r['this_s']:.2f} s, reference {r['reference_s']:.2f} s a baseline "
            f"replication's engine: {r['ratio']:.3f}x ({r['engines']})"
        )
    else:
        print("   skipped: set CAPSIM_BENCH_REFERENCE to a checkout of the commit to compare")
    out = ROOT / "runs" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
