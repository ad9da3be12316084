"""What capsim promises about the user's files: nothing overwritten, nothing mixed.

Each test runs the command line as a user would (a subprocess) on a tiny scenario.
"""

from __future__ import annotations

import csv
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import store
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "configs/examples/mmc.toml"
SHORT = ["--set", "scenario.years=0.01", "-n", "2", "--workers", "1"]


CAPSIM_TIMEOUT = 300
"""Seconds a capsim command in a test may take: a hang fails its test, not the CI run."""


def capsim(*args, cwd=ROOT, limit_bytes=None):
    def limit():  # a file-size limit, as `ulimit -f` sets it
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        preexec_fn=limit if limit_bytes else None,
        timeout=CAPSIM_TIMEOUT,  # a hang fails the test, not CI
    )


def test_a_non_empty_out_is_refused_and_force_leaves_no_stale_file(tmp_path):
    out = tmp_path / "run"
    first = capsim("run", MMC, *SHORT, "--out", out, "--record-jobs")
    assert first.returncode == 0, first.stderr
    assert (out / "jobs.parquet").exists()
    (out / "report.html").write_text("<html>an old report</html>")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = capsim("run", MMC, *SHORT, "--out", out)
    assert again.returncode == 2
    assert "is not empty" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    forced = capsim("run", MMC, *SHORT, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    names = {p.name for p in out.iterdir()}
    assert "jobs.parquet" not in names and "report.html" not in names  # no stale files
    assert "summary.json" in names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders


def test_out_never_holds_an_input_and_force_never_replaces_a_users_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    scenario = work / "scenario.toml"
    shutil.copy(MMC, scenario)
    for extra in ([], ["--force"]):
        r = capsim("run", scenario, *SHORT, "--out", ".", *extra, cwd=work)
        assert r.returncode == 2, r.stderr
        assert "an input of this run" in r.stderr
    assert scenario.read_bytes() == MMC.read_bytes()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = capsim("run", MMC, *SHORT, "--out", mine, "--force")
    assert r.returncode == 2 and "refusing to replace it" in r.stderr
    assert (mine / "notes.txt").read_text() == "keep me"


def test_a_failed_write_leaves_the_earlier_folder_exactly_as_it_was(tmp_path):
    out = tmp_path / "run"
    assert capsim("run", MMC, *SHORT, "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a 16 kB file-size limit: replications.parquet (~23 kB) cannot be written
    r = capsim("run", MMC, *SHORT, "--out", out, "--force", limit_bytes=16 * 1024)
    assert r.returncode == 2, r.stderr
    assert f"cannot write {out}" in r.stderr and "Traceback" not in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_replace_dir_is_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")

    def half_then_disk_full(tmp):
        (tmp / "a.txt").write_text("new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ScenarioError, match=r"cannot write .*No space left on device"):
        store.replace_dir(out, half_then_disk_full)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    files = store.replace_dir(
        out, lambda tmp: [tmp / "a.txt"] if (tmp / "a.txt").write_text("x") else []
    )
    assert files == [out / "a.txt"] and [p.name for p in out.iterdir()] == ["a.txt"]


def test_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert capsim("run", MMC, *SHORT, "--out", out).returncode == 0
    finally:
        os.umask(old)
    assert (out / "summary.json").stat().st_mode & 0o777 == 0o644
    assert out.stat().st_mode & 0o777 == 0o755


def interrupted_sweep(tmp_path, scenario, *extra):
    out = tmp_path / "sweep"
    r = capsim("sweep", scenario, *SHORT, "--vary", "pools.gpu.reserved=9,10", "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    (out / "summary.json").unlink()  # as if killed before the end
    (out / "points.parquet").unlink()
    return out


def test_resume_refuses_an_edited_scenario_and_names_the_key(tmp_path):
    scenario = tmp_path / "mmc.toml"
    shutil.copy(MMC, scenario)
    out = interrupted_sweep(tmp_path, scenario)
    scenario.write_text(MMC.read_text().replace("arrivals_per_day = 48", "arrivals_per_day = 50"))
    r = capsim(
        "sweep", scenario, *SHORT, "--vary", "pools.gpu.reserved=9,10", "--out", out, "--resume"
    )
    assert r.returncode == 2
    assert "workloads.jobs.arrivals_per_day: it had 48, now 50" in r.stderr
    assert not (out / "summary.json").exists()  # nothing mixed in


def test_resume_accepts_the_same_overrides_in_another_order(tmp_path):
    sets = ["--set", 'policy.queue="backfill"', "--set", "workloads.jobs.max_wait_hours=2"]
    out = interrupted_sweep(tmp_path, MMC, *sets)
    swapped = [*sets[2:], *sets[:2]]
    r = capsim(
        "sweep",
        MMC,
        *SHORT,
        "--vary",
        "pools.gpu.reserved=9,10",
        "--out",
        out,
        "--resume",
        *swapped,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "summary.json").exists()


def test_resume_refuses_an_edited_data_file(tmp_path):
    (tmp_path / "trace.csv").write_text("submit_hours,units,duration_hours\n1,1,2\n3,2,1\n")
    scenario = tmp_path / "trace.toml"
    scenario.write_text(
        '[scenario]\nname = "t"\nyears = 0.01\n[pools.gpu]\nreserved = 4\nprice_per_unit_hour = 1\n'
        '[workloads.t]\nkind = "trace"\npool = "gpu"\nfile = "trace.csv"\n'
    )
    out = interrupted_sweep(tmp_path, scenario)
    (tmp_path / "trace.csv").write_text("submit_hours,units,duration_hours\n1,1,2\n3,2,9\n")
    r = capsim(
        "sweep", scenario, *SHORT, "--vary", "pools.gpu.reserved=9,10", "--out", out, "--resume"
    )
    assert r.returncode == 2 and "data file" in r.stderr and "trace.csv changed" in r.stderr


def test_error_text_is_never_read_as_markup(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MMC.read_text().replace("[policy]", '[policy]\n"[/x]" = 1'))
    r = capsim("validate", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "[/x]" in r.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("scenario.name", '".."'),
        ("scenario.name", '"a/b"'),
        ("scenario.name", '"tab\\there"'),
        ("scenario.name", '"' + "x" * 101 + '"'),
    ],
)
def test_names_that_would_escape_the_output_folder_are_refused(tmp_path, key, value):
    r = capsim("run", MMC, *SHORT, "--set", f"{key}={value}", "--out", tmp_path / "o")
    assert r.returncode == 2, r.stderr
    assert "must be a name of 1 to 100 characters" in r.stderr
    assert not (tmp_path / "o").exists()


def test_pool_and_workload_names_are_checked_too(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MMC.read_text().replace("[workloads.jobs]", '[workloads.".."]'))
    r = capsim("validate", bad)
    assert r.returncode == 2 and "workloads...: must be a name" in r.stderr


def _start(args, tmp_path):
    import psutil

    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and len(workers) < 2:  # wait until both workers run
        time.sleep(0.2)
        workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(1.0)
    return proc, workers


def _gone(workers, within: float = 10.0):
    """Whether every worker has ended within ``within`` seconds of the parent (polled: a
    loaded machine may take more than the half second this waited once, a flaky failure;
    a worker left running for good still fails)."""
    import psutil

    def alive(w):
        try:
            return w.is_running() and w.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:  # it ended between the two questions
            return False

    deadline = time.monotonic() + within
    while [w.pid for w in workers if alive(w)]:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


LONG_RUN = ["--set", "scenario.years=2", "-n", "400", "--workers", "2", "--out"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_stops_at_once_and_leaves_no_worker(tmp_path, sig, code):
    out = tmp_path / "run"
    proc, workers = _start(["run", MMC, *LONG_RUN, out], tmp_path)
    proc.send_signal(sig)
    proc.wait(timeout=10)  # the old pool drained its queue first: 15-27 s
    assert proc.returncode == code
    assert "Traceback" not in proc.stderr.read()
    assert _gone(workers)
    assert not out.exists()  # a run folder appears whole or not at all


def test_workers_die_with_a_killed_parent(tmp_path):
    proc, workers = _start(["run", MMC, *LONG_RUN, tmp_path / "run"], tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert _gone(workers)


def test_an_interrupted_sweep_keeps_its_blocks_and_says_how_to_resume(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", MMC, "--set", "scenario.years=1", "-n", "200", "--workers", "2"]
    args += ["--vary", "pools.gpu.reserved=10,11", "--out", out]
    proc, _ = _start(args, tmp_path)
    while not list((out / "chunks").glob("*.parquet")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    text = proc.stderr.read()
    assert proc.returncode == 130
    assert "finished blocks are kept in" in text and "--resume" in text
    assert list((out / "chunks").glob("*.parquet"))


def trace_project(folder: Path, trace_text: str, file: str = "trace.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scenario = folder / "s.toml"
    scenario.write_text(
        '[scenario]\nname = "t"\nyears = 0.01\n[pools.gpu]\nreserved = 4\nprice_per_unit_hour = 1\n'
        f'[workloads.t]\nkind = "trace"\npool = "gpu"\nfile = "{file}"\n'
    )
    if trace_text is not None:
        (folder / "trace.csv").write_text(trace_text)
    return scenario


def test_data_files_stay_with_the_scenario_unless_allowed(tmp_path):
    (tmp_path / "outside.csv").write_text("submit_hours,units,duration_hours\n1,1,1\n")
    scenario = trace_project(tmp_path / "proj", None, "../outside.csv")
    r = capsim("validate", scenario)
    assert r.returncode == 2 and "lies outside the scenario's folder" in r.stderr
    assert capsim("validate", scenario, "--allow-external-data").returncode == 0
    # a symlink inside the folder that points out is outside too
    (tmp_path / "proj" / "link.csv").symlink_to(tmp_path / "outside.csv")
    linked = trace_project(tmp_path / "proj", None, "link.csv")
    r = capsim("validate", linked)
    assert r.returncode == 2 and "lies outside" in r.stderr


def test_foreign_files_are_never_echoed(tmp_path):
    secret = "root:x:0:0:root:/root:/bin/bash-and-a-long-secret-line"
    scenario = trace_project(tmp_path, None)
    (tmp_path / "trace.csv").write_text(secret + "\n" + secret + "\n")
    r = capsim("validate", scenario)
    assert r.returncode == 2 and secret not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"submit_hours,units,duration_hours\n1,1,\xff\n", "is not UTF-8 text: byte 38 is 0xff"),
        (b"submit_hours;units;duration_hours\n1;1;1\n", "looks separated by semicolons"),
        (b'submit_hours,units,duration_hours\n1,1,"\n2"\n3,x,1\n', "line 4: column 'units'"),
    ],
)
def test_bad_csv_files_are_reported_by_file_and_physical_line(tmp_path, content, message):
    scenario = trace_project(tmp_path, "")
    (tmp_path / "trace.csv").write_bytes(content)
    r = capsim("validate", scenario)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_a_byte_order_mark_is_fine_and_bad_utf8_is_named(tmp_path):
    good = tmp_path / "bom.toml"
    good.write_bytes(b"\xef\xbb\xbf" + MMC.read_bytes())
    assert capsim("validate", good).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_bytes(MMC.read_bytes().replace(b'name = "mmc"', b'name = "\xff"'))
    r = capsim("validate", bad)
    assert r.returncode == 2 and "is not UTF-8 text: byte" in r.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("pools.gpu.reserved=1e308", "must be between -1e15 and 1e15"),
        ("overflow.on-demand.price_steps=[{at_years=0.5,factor=1e300}]", "must be between"),
        ("overflow.on-demand.price_volatility=30", "price_volatility: must be <= 3, got 30"),
        ('workloads.jobs.units={dist="choice",values=[-3,2]}', r"units.values[0]: must be > 0"),
        ("workloads.jobs.arrivals_per_day=1e14", "would submit about 3.65e+14 jobs"),
        ("pools.gpu.reserved=-1", "--set: pools.gpu.reserved: must be >= 0"),
        ('policy.queue="[/x]"', "must be one of fifo, priority, backfill, got '[/x]'"),
    ],
)
def test_hostile_values_end_in_one_clear_line(tmp_path, setting, message):
    out = tmp_path / "o"
    r = capsim(
        "run", MMC, "--set", "scenario.years=0.01", "-n", "2", "--set", setting, "--out", out
    )
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_jobs_that_can_never_start_are_warned_about(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[scenario]\nname = "t"\nyears = 0.01\n[pools.gpu]\nreserved = 8\nprice_per_unit_hour = 1\n'
        '[workloads.j]\nkind = "jobs"\npool = "gpu"\narrivals_per_day = 5\n'
        'units = { dist = "choice", values = [4, 16] }\nduration_hours = 1\n'
    )
    r = capsim("validate", scenario)
    assert r.returncode == 0
    assert "warning" in r.stderr and "jobs of 16 units or more" in r.stderr
    assert "can never start" in r.stderr


@pytest.mark.parametrize(("max_wait", "warned"), [('"inf"', True), ("48", False)])
def test_jobs_too_large_for_the_pool_that_never_overflow_are_warned_about(
    tmp_path, max_wait, warned
):
    # an unlimited on-demand target would take them, but a job that waits without limit is
    # never sent there: it blocks the fifo queue for the whole horizon
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[scenario]\nname = "t"\nyears = 0.01\n[pools.gpu]\nreserved = 10\n'
        'price_per_unit_hour = 1\n[[overflow]]\nname = "od"\npool = "gpu"\n'
        'price_per_unit_hour = 2\n[workloads.j]\nkind = "jobs"\npool = "gpu"\n'
        f"arrivals_per_day = 5\nunits = 11\nduration_hours = 1\nmax_wait_hours = {max_wait}\n"
    )
    r = capsim("validate", scenario)
    assert r.returncode == 0, r.stderr
    assert ("can never start" in r.stderr) is warned, r.stderr
    if warned:
        assert "jobs of 11 units or more" in r.stderr and "max_wait_hours is inf" in r.stderr


def test_a_foreign_folder_is_not_a_report(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    r = capsim("report", tmp_path)
    assert (
        r.returncode == 2
        and "not a capsim run, sweep, stress, compare or optimize directory" in r.stderr
    )


def test_an_out_folder_under_a_file_is_named_as_such(tmp_path):
    (tmp_path / "F").write_text("a user's file\n")
    r = capsim("run", MMC, "--set", "scenario.years=0.01", "-n", "1", "--out", tmp_path / "F/sub")
    assert r.returncode == 2
    assert f"{tmp_path / 'F'} is a file, not a folder" in r.stderr  # was "File exists"
    assert (tmp_path / "F").read_text() == "a user's file\n"


def test_a_refused_run_leaves_nothing_behind_and_the_next_run_is_not_blocked(tmp_path):
    # the jobs limit is checked before any folder is made (it used to be found in a worker,
    # leaving a hidden .O.partial that refused the next run as "an interrupted run")
    out = tmp_path / "O"
    args = ["run", MMC, "--set", "scenario.years=0.01", "-n", "2", "--out", out]
    args += ["--set", "workloads.jobs.arrivals_per_day=1e14"]
    for _ in range(2):
        r = capsim(*args)
        assert r.returncode == 2 and "capsim simulates up to" in r.stderr
        assert "interrupted" not in r.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_run_whose_workers_fail_with_nothing_finished_leaves_no_partial(tmp_path):
    # the first replication passes the up-front check, a later one draws a rate over the
    # limit in a worker: the run fails with the message and keeps no empty partial folder
    out = tmp_path / "O"
    rate = 'workloads.jobs.arrivals_per_day={ dist = "lognormal", median = 1e6, sigma = 6 }'
    r = capsim("run", MMC, "--set", "scenario.years=0.01", "--set", rate, "-n", "40",
               "--workers", "2", "--out", out)  # fmt: skip
    if r.returncode == 0:
        pytest.skip("no replication of this seed drew a rate over the limit")
    assert r.returncode == 2 and "capsim simulates up to" in r.stderr, r.stderr
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers in ([], [".O.partial"])
    if leftovers:  # some blocks finished before the failure: they are kept, and said so
        assert any((tmp_path / ".O.partial" / "chunks").iterdir())


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_as_scenario_or_trace_is_refused_not_read(tmp_path, kind):
    if kind == "fifo":
        special = tmp_path / "pipe.toml"
        os.mkfifo(special)  # nobody writes: reading it would block for ever
    else:
        special = Path("/dev/zero")  # endless: reading it would fill memory
    r = capsim("validate", special)
    assert r.returncode == 2 and "is not a regular file" in r.stderr
    trace = tmp_path / "t.csv"
    if kind == "fifo":
        os.mkfifo(trace)
    else:
        trace.symlink_to("/dev/zero")
    scenario = trace_project(tmp_path, None, "t.csv")
    r = capsim("validate", scenario, "--allow-external-data")
    assert r.returncode == 2 and "is not a regular file" in r.stderr


def test_runaway_counts_are_refused_up_front(tmp_path):
    r = capsim("run", MMC, "-n", "1000000000000", "--out", tmp_path / "o")
    assert r.returncode == 2 and "must be <= 1,000,000" in r.stderr
    r = capsim("sweep", MMC, "--vary", "pools.gpu.reserved=1,2", "--target-ci", "nan",
               "--out", tmp_path / "s")  # fmt: skip
    assert r.returncode == 2 and "must be a finite number > 0" in r.stderr
    shock = tmp_path / "shock.toml"
    shock.write_text(
        MMC.read_text()
        + '\n[[shocks]]\nworkload = "jobs"\nper_year = 1e9\nfactor = 2\nduration_years = 0.01\n'
    )
    r = capsim("run", shock, "-n", "1", "--out", tmp_path / "o2")
    assert r.returncode == 2 and "shocks" in r.stderr and "episodes" in r.stderr
    assert not (tmp_path / "o2").exists() and not (tmp_path / ".o2.partial").exists()


def test_names_that_look_like_formulas_reach_exports_as_text(tmp_path):
    import openpyxl

    scenario = tmp_path / "inj.toml"
    scenario.write_text(
        MMC.read_text()
        .replace("[pools.gpu]", '[pools."=HYPERLINK(1)"]')
        .replace('pool = "gpu"', 'pool = "=HYPERLINK(1)"')
    )
    out = tmp_path / "o"
    assert (
        capsim("run", scenario, "--set", "scenario.years=0.01", "-n", "2", "--out", out).returncode
        == 0
    )
    assert capsim("export", out).returncode == 0
    cells = [
        cell for f in (out / "export").glob("*.csv") for row in csv.reader(f.open()) for cell in row
    ]
    assert "'=HYPERLINK(1)" in cells  # the spend table's pool column
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]
    assert capsim("export", out, "--format", "xlsx").returncode == 0
    book = openpyxl.load_workbook(out / "export.xlsx")
    texts = [c for ws in book for row in ws.iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert texts and all(c.data_type == "s" for c in texts)  # text, not a live formula


def test_a_second_writer_of_the_same_folder_is_refused_naming_the_first(tmp_path):
    # two runs into one folder mixed their data (a summary saying seed 1 over replications
    # from seed 7); now the folder is held for the first run's life
    out = tmp_path / "o"
    first, _ = _start(["run", MMC, *LONG_RUN, out], tmp_path)
    try:
        r = capsim("run", MMC, "--set", "scenario.years=0.01", "-n", "2", "--seed", "7",
                   "--force", "--out", out)  # fmt: skip
        assert r.returncode == 2
        assert f"is being written by another capsim (pid {first.pid})" in r.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)  # reads its stderr while it stops
    # once the first has stopped, the folder is free again (and its lock file gone)
    assert not (tmp_path / ".o.lock").exists()
    r = capsim("run", MMC, "--set", "scenario.years=0.01", "-n", "2", "--force", "--out", out)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("[pools.gpu]", '[pools."target.on-demand"]', "pools.target.on-demand"),
        ("[workloads.jobs]", '[workloads."pool.gpu"]', "workloads.pool.gpu"),
        ('name = "on-demand"', 'name = "x.y"', "overflow"),
    ],
)
def test_names_that_could_collide_with_metric_paths_are_refused(tmp_path, old, new, key):
    # a pool named target.on-demand beside a target on-demand gave two metrics one name
    # (overflow_unit_hours.target.on-demand): one column was silently lost
    text = MMC.read_text().replace(old, new)
    if "pools" in key:
        text = text.replace('pool = "gpu"', 'pool = "target.on-demand"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    r = capsim("validate", bad)
    assert r.returncode == 2 and "must not contain a dot" in r.stderr, r.stderr


@pytest.mark.parametrize("char", ["\u202e", "\u200b"])
def test_invisible_or_direction_changing_characters_are_refused_in_names(tmp_path, char):
    bad = tmp_path / "bad.toml"
    bad.write_text(MMC.read_text().replace("[workloads.jobs]", f'[workloads."jo{char}bs"]'))
    r = capsim("validate", bad)
    assert r.returncode == 2 and "invisible or direction-changing" in r.stderr
    assert f"U+{ord(char):04X}" in r.stderr


def test_a_number_past_the_limit_in_a_data_file_is_refused_by_line(tmp_path):
    (tmp_path / "u.csv").write_text("units\n" + "5\n" * 30 + "1e300\n" + "5\n" * 10)
    s = tmp_path / "s.toml"
    s.write_text(
        '[scenario]\nname = "u"\nyears = 0.01\n[pools.gpu]\nreserved = 4\n'
        'price_per_unit_hour = 1\n[workloads.d]\nkind = "demand"\npool = "gpu"\n'
        'file = "u.csv"\n'
    )
    r = capsim("validate", s)
    assert r.returncode == 2 and "line 32" in r.stderr and "at most 1e+15" in r.stderr


def _damage(folder: Path, how: str) -> None:
    s = folder / "summary.json"
    p = folder / "replications.parquet"
    if how == "summary-truncated":
        s.write_text(s.read_text()[:40])
    elif how == "summary-empty":
        s.write_text("")
    elif how == "summary-not-utf8":
        s.write_bytes(b"\xff\xfe{}")
    elif how == "summary-list":
        s.write_text("[]")
    elif how == "summary-empty-object":
        s.write_text("{}")
    elif how == "summary-nan":
        s.write_text(s.read_text().replace('"seed": ', '"seed": NaN, "x": ', 1))
    elif how == "summary-of-a-stress":
        s.write_text('{"cases": [], "replications": 2, "seed": 1}')
    elif how == "summary-missing":
        s.unlink()
    elif how == "parquet-truncated":
        p.write_bytes(p.read_bytes()[:100])
    elif how == "parquet-garbage":
        p.write_bytes(b"PAR1" + os.urandom(500))
    elif how == "parquet-empty":
        p.write_bytes(b"")


DAMAGE = [
    "summary-truncated", "summary-empty", "summary-not-utf8", "summary-list",
    "summary-empty-object", "summary-nan", "summary-of-a-stress", "summary-missing",
    "parquet-truncated", "parquet-garbage", "parquet-empty",
]  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    r = capsim("run", MMC, "--set", "scenario.years=0.01", "-n", "2", "--out", out)
    assert r.returncode == 0
    return out


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("command", ["report", "export"])
def test_a_damaged_folder_is_named_with_its_file_never_a_traceback(
    tmp_path, finished_run, how, command
):
    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    _damage(folder, how)
    r = capsim(command, folder)
    assert r.returncode == 2, (how, r.stderr)
    assert "Traceback" not in r.stderr
    assert "is damaged" in r.stderr or "not a capsim" in r.stderr, r.stderr


def test_report_never_writes_through_a_planted_link_nor_over_a_users_page(tmp_path, finished_run):
    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(folder / "figures", ignore_errors=True)
    (folder / "figures").symlink_to(elsewhere)
    r = capsim("report", folder)
    assert r.returncode == 2 and "symbolic link" in r.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written into the link's target
    (folder / "figures").unlink()
    (folder / "report.html").write_text("<p>my own notes</p>")
    r = capsim("report", folder)
    assert r.returncode == 2 and "not capsim's" in r.stderr
    assert (folder / "report.html").read_text() == "<p>my own notes</p>"
    (folder / "report.html").unlink()
    assert capsim("report", folder).returncode == 0
    assert capsim("report", folder).returncode == 0  # its own page is replaced


def test_export_replaces_only_its_own_files(tmp_path, finished_run):
    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    (folder / "export").mkdir()
    (folder / "export" / "budget.docx").write_text("a user's file")
    r = capsim("export", folder)
    assert r.returncode == 2 and "not capsim's" in r.stderr
    assert (folder / "export" / "budget.docx").read_text() == "a user's file"
    shutil.rmtree(folder / "export")
    assert capsim("export", folder).returncode == 0
    assert capsim("export", folder).returncode == 0  # its own folder is replaced
    (folder / "export.xlsx").write_bytes(b"a user's workbook")
    r = capsim("export", folder, "--format", "xlsx")
    assert r.returncode == 2 and (folder / "export.xlsx").read_bytes() == b"a user's workbook"
    (folder / "export.xlsx").unlink()
    assert capsim("export", folder, "--format", "xlsx").returncode == 0
    assert capsim("export", folder, "--format", "xlsx").returncode == 0


def test_a_dangling_out_link_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nowhere")
    start = time.monotonic()
    r = capsim("run", MMC, "--set", "scenario.years=0.05", "-n", "4", "--out", out)
    assert r.returncode == 2 and "symbolic link" in r.stderr
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / ".out.partial").exists()
    assert time.monotonic() - start < 60


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('duration_hours = { dist = "exponential", mean = 4 }',
         'duration_hours = { dist = "normal", mean = -5, sd = 1 }', "would be clipped"),
    ],
)  # fmt: skip
def test_silent_nonsense_in_a_scenario_is_refused(tmp_path, old, new, says):
    text = MMC.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    r = capsim("validate", bad)
    assert r.returncode == 2 and says in r.stderr, r.stderr


def test_a_time_zoned_start_is_refused():
    r = capsim("validate", MMC, "--set", "scenario.start=2026-07-01T00:00:00+02:00")
    assert r.returncode == 2 and "without a time zone" in r.stderr, r.stderr


def test_a_negative_shock_factor_by_distribution_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        MMC.read_text() + '\n[[shocks]]\nworkload = "jobs"\nper_year = 2\n'
        'factor = { dist = "normal", mean = -1, sd = 0.2 }\nduration_years = 0.01\n'
    )
    r = capsim("validate", bad)
    assert r.returncode == 2 and "shocks[0].factor" in r.stderr and "clipped" in r.stderr


@pytest.mark.parametrize(
    ("trace", "says"),
    [
        ("submit_hours,units,units,duration_hours\n1,1,2,3\n", "names column 'units' twice"),
        ("submit_hours,units,duration_hours\n1,1,2,9\n", "4 cells for 3 columns"),
        ("submit_hours,units,duration_hours\n1_0,1,2\n", "must be a number, got '1_0'"),
        ("submit_hours,units,duration_hours,priority\n1,1,2,1.5\n", "must be a whole number"),
    ],
)
def test_a_lenient_trace_is_refused_by_line(tmp_path, trace, says):
    scenario = trace_project(tmp_path, trace)
    r = capsim("validate", scenario)
    assert r.returncode == 2 and says in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", MMC, "--set", "scenario.years=0.01\nscenario.seed=3"], "holds a line break"),
        (["sweep", MMC, "--vary", "pools.gpu.reserved=10,10"], "twice"),
        (["sweep", MMC, "--vary", "pools.gpu.reserved=10,11,"], "stray comma"),
        (["sweep", MMC, "--vary", "pools.gpu.reserved=10,abc"], "must be a number"),
        (["run", MMC, "--scheduler", "tcp://127.0.0.1:1"], "needs --backend dask"),
        (["optimize", MMC, "--pool", "gpu", "--pool", "gpu"], "is given twice"),
    ],
)
def test_command_lines_that_would_be_misread_are_refused(tmp_path, args, says):
    r = capsim(*args, "--out", tmp_path / "o")
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("option", "value"), [("--name", "../x"), ("--pool", "a/b"),
                                               ("--pool", "a.b")])  # fmt: skip
def test_fit_never_writes_a_fragment_the_loader_refuses(tmp_path, option, value):
    log = tmp_path / "log.csv"
    log.write_text("submit_hours,units,duration_hours\n" + "".join(
        f"{i * 1.7},1,{1 + i % 5}\n" for i in range(200)))  # fmt: skip
    r = capsim("fit", "jobs", log, "--out", tmp_path / "f.toml", "--no-report", option, value)
    assert r.returncode == 2 and option in r.stderr
    assert not (tmp_path / "f.toml").exists()


def test_a_resumed_stress_study_names_the_case_that_changed(tmp_path):
    from sim.store.partial import manifest_difference

    old = {"cases": ["a.toml", "b.toml"], "cases_sha256": ["h1", "h2"]}
    new = {"cases": ["a.toml", "b.toml"], "cases_sha256": ["h1", "h3"]}
    text = manifest_difference(old, new, "stress study")
    assert text == "b.toml changed since the stress study started (its content, as merged)"


def test_an_os_error_names_the_file_not_a_temporary_name_or_an_errno():
    import errno as e

    from sim.cli.main import os_error_text

    exc = OSError(e.EFBIG, "File too large", "/runs/base/.summary.json.x8k2_q")
    assert os_error_text(exc) == "/runs/base/summary.json: cannot write or read it: File too large"
    assert "Errno" not in os_error_text(OSError(e.ENAMETOOLONG, "File name too long", "/a/b"))


def test_sweep_force_under_a_disk_limit_leaves_the_earlier_sweep_whole(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", MMC, "--set", "scenario.years=0.02", "-n", "4", "--workers", "1"]
    args += ["--vary", "pools.gpu.reserved=10,11", "--out", out]
    assert capsim(*args).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    r = capsim(*args, "--force", "--seed", "9", limit_bytes=2000)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # the old code left only manifest.json
    assert not (tmp_path / ".sweep.replaced").exists()


def test_a_large_report_of_capsims_is_still_its_own(tmp_path):
    # a report with its figures embedded runs past a megabyte; its mark is at the end
    from sim.store import is_capsims

    page = tmp_path / "report.html"
    page.write_text("<html><body>" + "x" * (3 << 20) + "<p>Made by capsim 0.1.0</p></body></html>")
    assert is_capsims(page)
    page.write_text("<html><body>" + "x" * (3 << 20) + "</body></html>")
    assert not is_capsims(page)


def test_allowing_external_data_once_does_not_leak_into_later_loads(tmp_path):
    """--allow-external-data is an argument that travels with the scenario, not a process
    global: in one Python session (a notebook calling the CLI), a later load without the
    flag is still refused, and a scenario loaded with it keeps it through with_overrides."""
    from sim.cli import main
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario, with_overrides

    (tmp_path / "outside.csv").write_text("submit_hours,units,duration_hours\n1,1,1\n")
    scenario = trace_project(tmp_path / "proj", None, "../outside.csv")
    assert main(["validate", str(scenario), "--allow-external-data"]) == 0
    with pytest.raises(ScenarioError, match="lies outside the scenario's folder"):
        load_scenario(scenario)
    allowed = load_scenario(scenario, allow_external_data=True)
    assert allowed.allow_external_data
    assert with_overrides(allowed, {"pools.gpu.reserved": 8}).pools["gpu"].reserved[0] == 8
