"""``capsim run`` on the one executor: blocks of replications, resumable, local or Dask, and
the same frames as the library's in-memory run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import batch, store
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ("replications", "timeseries", "spend", "waits", "contract")
ARGS = ["--set", "scenario.years=0.2", "-n", "9", "--workers", "2"]


def _files(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in FRAMES}


@pytest.fixture(scope="module")
def reference():
    sc = sim.load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=0.2"])
    return sim.run(sc, n=9, workers=2)


def _same(out: Path, ref) -> None:
    for name, frame in _files(out).items():
        pd.testing.assert_frame_equal(frame, getattr(ref, name), check_exact=True, obj=name)


def test_block_sizes_depend_on_n_alone():
    assert [batch.run_block_size(n) for n in (1, 8, 9, 40, 100, 1000)] == [1, 1, 1, 5, 10, 10]


def test_the_cli_run_writes_the_frames_of_the_in_memory_run(tmp_path, reference):
    out = tmp_path / "r"
    assert main(["run", str(ROOT / "configs/baseline.toml"), *ARGS, "--out", str(out)]) == 0
    _same(out, reference)
    assert not store.partial_dir(out).exists()  # the blocks are gone once the run is whole


def test_an_interrupted_run_resumes_to_the_same_files(tmp_path, reference, capsys):
    out = tmp_path / "r"
    cmd = ["run", str(ROOT / "configs/baseline.toml"), *ARGS, "--out", str(out)]
    sc = sim.load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=0.2"])
    # what an interrupted run leaves: the manifest and the first blocks, no run folder
    manifest = {
        "kind": "run",
        "scenario": sc.name,
        "seed": sc.seed,
        "replications": 9,
        "record_jobs": False,
        **store.fingerprint(sc),
    }
    partial = store.prepare_partial(out, manifest)
    blocks = batch.run_blocks(sc, sc.seed, 9)
    batch.execute_each(blocks[:4], store.FramesStore(partial), task=batch.run_frames)
    assert main(cmd) == 2  # never silently redone or thrown away
    assert "--resume to complete it" in capsys.readouterr().err
    assert main([*cmd, "--set", "scenario.years=0.3", "--resume"]) == 2
    assert "differs from the interrupted run" in capsys.readouterr().err
    done = []
    real = batch.run_frames

    def counting(block):
        done.append(block.id)
        return real(block)

    batch_task = batch.run_frames
    try:
        batch.run_frames = counting  # type: ignore[assignment]
        assert main([*cmd[:-4], "--workers", "1", "--out", str(out), "--resume"]) == 0
    finally:
        batch.run_frames = batch_task  # type: ignore[assignment]
    assert len(done) == len(blocks) - 4  # only the missing blocks ran
    _same(out, reference)
    assert not partial.exists()


def test_resume_without_an_interrupted_run_is_refused(tmp_path, capsys):
    out = tmp_path / "r"
    assert (
        main(["run", str(ROOT / "configs/examples/mmc.toml"), "--out", str(out), "--resume"]) == 2
    )
    assert "holds no interrupted run" in capsys.readouterr().err


def test_dask_gives_the_same_run(tmp_path, reference):
    import dask.distributed  # noqa: F401 - a dev dependency: missing, it fails, not skips

    out = tmp_path / "d"
    args = ["run", str(ROOT / "configs/baseline.toml"), *ARGS, "--out", str(out)]
    assert main([*args, "--backend", "dask"]) == 0
    _same(out, reference)


def _small_stress(tmp_path):
    """A stress study of the M/M/c example (0.05 years, 20 replications, one worker) with
    one case, arrivals x1.3: the command line without --out."""
    case = tmp_path / "boom.toml"
    case.write_text(
        '[scenario]\nname = "boom"\n\n[workloads.jobs]\narrivals_per_day = { times = 1.3 }\n'
    )
    base = str(ROOT / "configs/examples/mmc.toml")
    return ["stress", base, str(case), "--set", "scenario.years=0.05", "-n", "20", "--workers", "1"]


def test_an_interrupted_stress_study_resumes_to_the_same_cases(tmp_path, capsys, monkeypatch):
    args = _small_stress(tmp_path)
    fresh = tmp_path / "fresh"
    assert main([*args, "--out", str(fresh)]) == 0
    out = tmp_path / "st"
    real = batch.run_block
    calls = []

    def stop_on_the_third(block):
        calls.append(block.id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(block)

    monkeypatch.setattr(batch, "run_block", stop_on_the_third)
    assert main([*args, "--out", str(out)]) == 130
    assert "--resume to complete the stress study" in capsys.readouterr().err
    assert not out.exists() and store.FramesStore(store.partial_dir(out)).count() == 2
    calls.clear()
    monkeypatch.setattr(batch, "run_block", lambda b: (calls.append(b.id), real(b))[1])
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert len(calls) == 2  # only the two blocks that had not finished
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "cases.parquet"), pd.read_parquet(fresh / "cases.parquet")
    )
    assert not store.partial_dir(out).exists()


def test_a_resumed_run_names_the_data_file_that_changed(tmp_path):
    import shutil

    from sim.errors import ScenarioError

    folder = tmp_path / "s"
    shutil.copytree(ROOT / "configs/examples", folder)
    path = folder / "helios-demand.toml"
    sc = sim.load_scenario(path)
    out = tmp_path / "r"
    store.prepare_partial(out, {"kind": "run", **store.fingerprint(sc)})
    data = folder / "data/helios-earth-gpu-demand-hourly.csv"
    data.write_text(data.read_text().replace("602.167", "602.168"))
    changed = {"kind": "run", **store.fingerprint(sim.load_scenario(path))}
    with pytest.raises(
        ScenarioError,
        match=r"data file .*helios-earth-gpu-demand-hourly\.csv "
        r"changed since the run started",
    ):
        store.prepare_partial(out, changed, resume=True)


def test_an_interrupted_stress_study_with_vary_resumes_its_reoptimisation(
    tmp_path, capsys, monkeypatch
):
    """The re-optimisation sweeps of ``stress --vary`` keep their blocks with the study:
    a resumed study runs only what had not finished, and says the same."""
    args = [*_small_stress(tmp_path), "--vary", "pools.gpu.reserved=8,12"]
    fresh = tmp_path / "fresh"
    assert main([*args, "--out", str(fresh)]) == 0
    out = tmp_path / "st"
    real = batch.run_block
    calls: list[str] = []

    def stop_in_the_reoptimisation(block):
        calls.append(block.id)
        if len(calls) == 7:  # 4 case blocks, then the first sweep's third block
            raise KeyboardInterrupt
        return real(block)

    monkeypatch.setattr(batch, "run_block", stop_in_the_reoptimisation)
    assert main([*args, "--out", str(out)]) == 130
    capsys.readouterr()
    assert store.FramesStore(store.partial_dir(out)).count() == 6
    calls.clear()
    monkeypatch.setattr(batch, "run_block", lambda b: (calls.append(b.id), real(b))[1])
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert len(calls) == 12 - 6  # 2 cases x (2 blocks + 2 points x 2 blocks), less the kept
    assert (
        store.read_json(out / "summary.json")["reoptimized"]
        == store.read_json(fresh / "summary.json")["reoptimized"]
    )


def test_memory_is_released_after_big_work_only(monkeypatch):
    """A seven-year replication's heap goes back before the next starts; small work does
    not pay the ~30 ms a release costs."""
    import time

    from sim import executor

    released = []
    monkeypatch.setattr(executor, "release_memory", lambda: released.append(1))
    monkeypatch.setattr(executor, "BIG_WORK_SECONDS", 0.05)
    with executor.releasing():
        pass
    assert released == []
    with executor.releasing():
        time.sleep(0.06)
    assert released == [1]


def test_memory_is_released_after_work_that_grew_the_heap_however_quick(monkeypatch):
    """A baseline replication takes under a second now, yet leaves ~65 MB of heap: work that
    grew resident memory by BIG_WORK_MB is released whatever its time (a worker crept to
    ~300 MB when only time counted)."""
    from sim import executor

    released = []
    monkeypatch.setattr(executor, "release_memory", lambda: released.append(1))
    monkeypatch.setattr(executor, "BIG_WORK_SECONDS", 3600.0)
    readings = iter([100.0, 100.0 + executor.BIG_WORK_MB - 1, 100.0, 100.0 + executor.BIG_WORK_MB])
    monkeypatch.setattr(executor, "resident_mb", lambda: next(readings))
    with executor.releasing():
        pass
    assert released == []  # grew, but less than the threshold
    with executor.releasing():
        pass
    assert released == [1]


def test_resident_memory_is_read_on_this_machine():
    from sim import executor

    mb = executor.resident_mb()
    if sys.platform.startswith("linux"):
        assert mb is not None and 10 < mb < 100_000


def _studies(tmp_path):
    """Each resumable study on the M/M/c example, small, with its word in the messages."""
    mmc = str(ROOT / "configs/examples/mmc.toml")
    short = ["--set", "scenario.years=0.05", "-n", "20", "--workers", "1"]
    stress_args = _small_stress(tmp_path)
    return {
        "run": (["run", mmc, *short], "run"),
        "sweep": (["sweep", mmc, *short, "--vary", "pools.gpu.reserved=9,10"], "sweep"),
        "stress": (stress_args, "stress study"),
        "optimize": (
            ["optimize", mmc, *short[:2], "-n", "4", "--workers", "1", "--pool", "gpu"],
            "optimisation",
        ),
    }


@pytest.mark.parametrize("command", ["run", "sweep", "stress", "optimize"])
def test_a_study_that_cannot_write_its_blocks_says_the_same_everywhere(
    tmp_path, capsys, monkeypatch, command
):
    """One path for every resumable study: a full disk after the first block is an error
    naming --out (exit 2, no traceback), the finished block is kept, the message says how
    to go on, and --resume completes the study."""
    import errno

    argv, what = _studies(tmp_path)[command]
    out = tmp_path / "out"
    saves = []
    real_frames, real_folder = store.FramesStore.save, store.FolderStore.save

    def full_after_one(real):
        def save(self, block_id, frames):
            saves.append(block_id)
            if len(saves) > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(self, block_id, frames)

        return save

    monkeypatch.setattr(store.FramesStore, "save", full_after_one(real_frames))
    monkeypatch.setattr(store.FolderStore, "save", full_after_one(real_folder))
    assert main([*argv, "--out", str(out)]) == 2
    text = capsys.readouterr().err
    assert f"cannot write {out}: No space left on device" in text
    assert "1 finished blocks are kept in" in text
    assert f"fix it and run the same command with --resume to complete the {what}" in text
    monkeypatch.setattr(store.FramesStore, "save", real_frames)
    monkeypatch.setattr(store.FolderStore, "save", real_folder)
    assert main([*argv, "--out", str(out), "--resume"]) == 0


def test_a_sweep_stopped_before_any_block_still_says_resume(tmp_path, capsys, monkeypatch):
    """A sweep's --out (its manifest) stays when it stops before any block finished, and a
    new sweep into it is refused without --resume: so the message must say --resume, not
    'nothing kept' as a run's hidden partial folder may."""
    argv, _ = _studies(tmp_path)["sweep"]
    out = tmp_path / "out"
    real = batch.run_block

    def stop_at_once(block):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "run_block", stop_at_once)
    assert main([*argv, "--out", str(out)]) == 130
    text = capsys.readouterr().err
    assert "0 finished blocks are kept in" in text and "--resume to complete the sweep" in text
    monkeypatch.setattr(batch, "run_block", real)
    assert main([*argv, "--out", str(out)]) == 2  # refused: it says --resume
    assert main([*argv, "--out", str(out), "--resume"]) == 0
