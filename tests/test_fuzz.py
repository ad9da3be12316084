"""Fuzzing the command line: whatever a user writes, capsim exits 0 or 2, never with a
traceback, and writes nothing when it refuses.

Hypothesis mutates a small valid scenario (a value replaced by any TOML value, a key
dropped or misspelt), a stress file and a trace, and runs ``capsim validate``, ``run`` and
``stress`` in-process on them.
"""

from __future__ import annotations

import contextlib
import copy
import math
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

BASE: dict[str, Any] = {
    "scenario": {"name": "fz", "years": 0.003, "seed": 1, "replications": 1},
    "pools": {
        "gpu": {"unit": "gpu", "instance_units": 2, "reserved": 4, "price_per_unit_hour": 1.0}
    },
    "overflow": [{"name": "od", "pool": "gpu", "price_per_unit_hour": 2.0, "capacity": 4}],
    "workloads": {
        "j": {
            "kind": "jobs",
            "pool": "gpu",
            "arrivals_per_day": 30,
            "units": {"dist": "choice", "values": [1, 2, 4]},
            "duration_hours": {"dist": "exponential", "mean": 2},
            "max_wait_hours": 1,
        },
        "t": {"kind": "trace", "pool": "gpu", "file": "trace.csv"},
        "d": {"kind": "demand", "pool": "gpu", "demand_units": 1.0, "noise_cv": 0.1},
    },
    "changes": [{"pool": "gpu", "at_years": 0.001, "factor": 0.5}],
    "policy": {"queue": "backfill", "placement": "best-fit"},
    "commitments": [
        {"name": "r", "kind": "reserved", "pool": "gpu", "units": 2, "discount": 0.3,
         "term_years": 0.001, "renew": True, "payment": "partial", "upfront_fraction": 0.5},
        {"name": "sp", "kind": "savings_plan", "usd_per_hour": 1.0, "covers": {"od": 0.7},
         "term_years": 1},
        {"name": "own", "kind": "owned", "pool": "gpu", "units": 2, "term_years": 3,
         "capex_usd_per_unit": 100.0, "opex_usd_per_unit_hour": 0.1},
    ],
}  # fmt: skip
TRACE = "submit_hours,units,duration_hours\n0.5,1,2\n3,2,1\n"

scalars = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e-300, 0.5, 2.5, 100, "inf", "", "[/x]", "..", "a/b"]),
    st.text(max_size=12),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, (*prefix, i))
    return out


ALL_PATHS = paths(BASE)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        node: Any = data
        try:
            for part in path[:-1]:
                node = node[part]
            action = draw(st.sampled_from(["replace", "drop", "misspell"]))
            if action == "replace":
                node[path[-1]] = draw(values)
            elif action == "drop" and isinstance(node, dict):
                node.pop(path[-1], None)
            elif isinstance(node, dict) and path[-1] in node:
                node[str(path[-1]) + "x"] = node.pop(path[-1])
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    # keep every example quick: a long horizon or a flood of jobs is valid, only slow
    head = data.get("scenario")
    if isinstance(head, dict) and _number(head.get("years")) and head["years"] > 0.003:
        head["years"] = 0.003
    jobs = data.get("workloads", {}).get("j") if isinstance(data.get("workloads"), dict) else None
    if isinstance(jobs, dict) and _number(jobs.get("arrivals_per_day")):
        jobs["arrivals_per_day"] = min(jobs["arrivals_per_day"], 1000)
    return data


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def write(folder: Path, data: dict[str, Any]) -> Path | None:
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return None  # not representable in TOML (a key that is not a string ...)
    path = folder / "s.toml"
    path.write_text(text)
    return path


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    data=mutated(), trace=st.sampled_from([TRACE, "", "a;b\n1;2\n", "submit_hours,units\n1,x\n"])
)
def test_any_scenario_gives_exit_0_or_2_and_nothing_written_on_2(
    tmp_path_factory, capsys, data, trace
):
    folder = tmp_path_factory.mktemp("fz")
    (folder / "trace.csv").write_text(trace)
    path = write(folder, data)
    if path is None:
        return
    code, err = run_cli(["validate", str(path)], capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
    out = folder / "out"
    code, err = run_cli(["run", str(path), "-n", "1", "--workers", "1", "--out", str(out)], capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert not out.exists(), f"wrote {out} though it refused: {err}"
    else:
        assert (out / "summary.json").exists()


@FUZZ
@given(patch=mutated())
def test_any_stress_file_gives_exit_0_or_2(tmp_path_factory, capsys, patch):
    folder = tmp_path_factory.mktemp("st")
    (folder / "trace.csv").write_text(TRACE)
    base = write(folder, BASE)
    assert base is not None
    patch = {k: v for k, v in patch.items() if k != "scenario"}
    patch["scenario"] = {"name": "case"}
    stress_file = folder / "case.toml"
    try:
        stress_file.write_text(tomli_w.dumps(patch))
    except (TypeError, ValueError):
        return
    code, err = run_cli(["validate", str(stress_file), "--base", str(base)], capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err


@FUZZ
@given(
    args=st.lists(
        st.sampled_from(
            [
                "-n",
                "0",
                "-1",
                "x",
                "--seed",
                "--set",
                "a=b",
                "a",
                "--vary",
                "k=1:0:1",
                "--workers",
                "99999",
                "--out",
                "--objective",
                "p101",
                "--constraint",
                "x<=y",
                "--force",
                "--resume",
            ]
        ),
        max_size=6,
    )
)
def test_any_command_line_gives_exit_0_or_2(tmp_path_factory, capsys, args):
    folder = tmp_path_factory.mktemp("cl")
    (folder / "trace.csv").write_text(TRACE)
    base = write(folder, BASE)
    assert base is not None
    for command in ("run", "sweep"):
        argv = [command, str(base), *args]
        if "--out" not in args:
            argv += ["--out", str(folder / command)]
        with contextlib.chdir(folder):  # a relative --out lands in the test's folder
            code, err = run_cli(argv, capsys)
        assert code in (0, 2), (argv, err)
        assert "Traceback" not in err


ALT = '[scenario]\nname = "alt"\n[pools.gpu]\nreserved = 0\n'


@FUZZ
@given(
    args=st.lists(
        st.sampled_from(
            ["-n", "1", "0", "x", "--stress", "--objective", "p50", "cvar101", "--constraint",
             "P(spend_usd.total<1)>=0.5", "x<=y", "--metric", "esr", "nope", "--force"]
        ),
        max_size=5,
    ),
    patch=mutated(),
)  # fmt: skip
def test_any_comparison_gives_exit_0_or_2(tmp_path_factory, capsys, args, patch):
    folder = tmp_path_factory.mktemp("cmp")
    (folder / "trace.csv").write_text(TRACE)
    base = write(folder, BASE)
    alt = folder / "alt.toml"
    alt.write_text(ALT)
    try:
        stress: Path | None = folder / "stress.toml"
        stress.write_text(tomli_w.dumps(patch))
    except (TypeError, ValueError):
        stress = None
    assert base is not None
    argv = ["compare", str(base), str(alt), *args]
    if "--stress" in args and stress is not None:
        argv += [str(stress)]
    if "-n" not in args:
        argv += ["-n", "1"]
    argv += ["--out", str(folder / "out"), "--workers", "1"]
    with contextlib.chdir(folder):
        code, err = run_cli(argv, capsys)
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True), st.sampled_from(["", "x", "1_0", "3e300"])),
            st.one_of(st.integers(-3, 5), st.sampled_from(["", "2.5"])),
            st.one_of(st.floats(0, 100), st.just(-1.0), st.sampled_from(["nan", ""])),
        ),
        max_size=40,
    ),
    extra=st.sampled_from([[], ["--uncertain"], ["--name", "../x"], ["--pool", "a.b"],
                           ["--start", "2026-01-01T00:00:00+02:00"]]),
)  # fmt: skip
def test_any_job_log_gives_exit_0_or_2_and_no_fragment_on_2(tmp_path_factory, capsys, rows, extra):
    folder = tmp_path_factory.mktemp("fit")
    log = folder / "log.csv"
    log.write_text(
        "submit_hours,units,duration_hours\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    )
    out = folder / "f.toml"
    code, err = run_cli(["fit", "jobs", str(log), "--out", str(out), "--no-report", *extra], capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert not out.exists()
