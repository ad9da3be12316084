"""Output folders: which inputs a run read, preparing --out (never replacing a folder
that is not capsim's), writing runs, sweeps, stress studies and optimisations whole."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.errors import ScenarioError, read_regular
from sim.results import RunResult
from sim.scenario import Scenario
from sim.store.files import current_umask, write_json, write_parquet, write_scenario

#: files that mark a folder as capsim output (safe for --force to replace)
_OUTPUT_MARKS = ("summary.json", "manifest.json", "chunks")


def inputs_of(scenario: Scenario) -> list[Path]:
    """The files a scenario reads: its own file and every data file it names."""
    source = Path(scenario.source)
    return ([source] if source.exists() else []) + data_files_of(scenario)


def data_files_of(scenario: Scenario) -> list[Path]:
    """Every data file (trace, recording, empirical values) the scenario names."""
    found: list[Path] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "file" and isinstance(v, str):
                    found.append(scenario.base_dir / v)
                else:
                    walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(scenario.raw)
    return found


def prepare_out(
    out: Path, inputs: Sequence[Path], force: bool = False, resume: bool = False
) -> None:
    """Check ``--out`` before any work is done.

    Refused (exit 2, nothing touched): a folder that holds an input of the run; a file; a
    folder that is not empty, unless ``resume`` (the caller checks it holds the same
    interrupted work) or ``force`` and it is capsim output (never a folder of the user's
    own files). Then checks that the folder can be written.
    """
    out = Path(out)
    where = "--out"
    target = out.resolve()
    for f in inputs:
        fr = Path(f).resolve()
        if fr == target or target in fr.parents:
            raise ScenarioError(
                where, str(out), f"holds {f}, an input of this run: choose another folder"
            )
    if out.is_symlink():  # dangling or not: found now, not after the simulation
        raise ScenarioError(
            where, str(out), "is a symbolic link: capsim writes a real folder; choose another"
        )
    if out.exists() and not out.is_dir():
        raise ScenarioError(where, str(out), "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        interrupted = (out / "manifest.json").exists() and not (out / "summary.json").exists()
        if resume:
            if not interrupted:
                raise ScenarioError(
                    "--resume", str(out), "holds no interrupted sweep (no manifest.json)"
                )
            return
        if not force:
            hint = "add --resume to complete the interrupted work in it, " if interrupted else ""
            raise ScenarioError(
                where,
                str(out),
                f"is not empty: {hint}add --force to replace it, or choose another folder",
            )
        if not any((out / m).exists() for m in _OUTPUT_MARKS):
            raise ScenarioError(
                "--force",
                str(out),
                "holds files capsim did not write (no summary.json or manifest.json): "
                "refusing to replace it; choose another folder",
            )
    parent = target.parent
    _check_parent(out, parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ScenarioError(str(out), "", f"cannot write {out}: {exc.strerror or exc}") from None


def _check_parent(out: Path, parent: Path) -> None:
    """Refuse an --out whose nearest existing ancestor is a file (``FILE/sub``)."""
    blocker = next((a for a in (parent, *parent.parents) if a.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ScenarioError("--out", str(out), f"cannot be made: {blocker} is a file, not a folder")


def clear_out(out: Path) -> None:
    """Remove an earlier capsim output folder (``--force``), so no stale file survives."""
    if Path(out).is_dir():
        shutil.rmtree(out)


def replace_dir(out: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Write a whole folder beside ``out`` and rename it into place: it appears whole or not
    at all, and a failure leaves any earlier folder exactly as it was. Returns the files, as
    they are named under ``out``."""
    out = Path(out)
    parent = out.resolve().parent
    old: Path | None = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise ScenarioError(str(out), "", f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700: give it the user's usual mode
        files = write(tmp)
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.replace(old, out)
        raise ScenarioError(str(out), "", f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out / f.relative_to(tmp) for f in files]


def write_run(out: Path, result: RunResult, version: str) -> list[Path]:
    """Write a run directory; return the files written."""
    out = Path(out)
    files = [
        out / "scenario.toml",
        out / "summary.json",
        out / "replications.parquet",
        out / "timeseries.parquet",
    ]
    write_scenario(files[0], result.scenario)
    write_json(files[1], result.to_json_dict(version))
    write_parquet(files[2], result.replications)
    write_parquet(files[3], result.timeseries)
    optional = {
        "spend": result.spend,
        "waits": result.waits,
        "contract": result.contract,
        "jobs": result.jobs,
        "purchases": result.purchases,
    }
    for name, frame in optional.items():
        path = out / f"{name}.parquet"
        if frame is not None:
            files.append(path)
            write_parquet(path, frame)
        else:
            path.unlink(missing_ok=True)  # from an earlier run of another kind (--record-jobs)
    return files


def kind_of(directory: Path) -> str:
    """``run``, ``sweep``, ``stress``, ``compare`` or ``optimize``, by the files a
    directory holds."""
    d = Path(directory)
    if (d / "points.parquet").exists():
        return "sweep"
    if (d / "cases.parquet").exists():
        return "stress"
    if (d / "cells.parquet").exists():
        return "compare"
    if (d / "evaluations.parquet").exists():
        return "optimize"
    if (d / "replications.parquet").exists():
        return "run"
    raise FileNotFoundError(
        f"{d}: not a capsim run, sweep, stress, compare or optimize directory (no "
        "replications.parquet, points.parquet, cases.parquet, cells.parquet or "
        "evaluations.parquet)"
    )


class FolderStore:
    """Finished blocks as ``DIR/chunks/<id>.parquet``, each written atomically."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory) / "chunks"

    def _path(self, block_id: str) -> Path:
        return self.dir / f"{block_id}.parquet"

    def has(self, block_id: str) -> bool:
        return self._path(block_id).exists()

    def load(self, block_id: str) -> pd.DataFrame:
        return pd.read_parquet(self._path(block_id))

    def save(self, block_id: str, frame: pd.DataFrame) -> None:
        write_parquet(self._path(block_id), frame)


def _write_table_dir(
    out: Path, table: str, frame: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    out = Path(out)
    files = [out / table, out / "summary.json", out / "scenario.toml"]
    write_parquet(files[0], frame)
    write_json(files[1], summary)
    write_scenario(files[2], scenario)
    return files


def write_sweep(
    out: Path, points: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    """Write a sweep directory's final files."""
    return _write_table_dir(out, "points.parquet", points, summary, scenario)


def write_optimize(
    out: Path, evaluations: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    """Write an optimize directory's final files (``scenario.toml`` is the optimised one)."""
    return _write_table_dir(out, "evaluations.parquet", evaluations, summary, scenario)


def write_stress(
    out: Path, cases: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    """Write a stress directory's final files."""
    return _write_table_dir(out, "cases.parquet", cases, summary, scenario)


def write_compare(
    out: Path, cells: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    """Write a comparison directory's final files."""
    return _write_table_dir(out, "cells.parquet", cells, summary, scenario)


@contextlib.contextmanager
def holding(out: Path) -> Iterator[None]:
    """Hold ``--out`` (and its partial sibling) for a study's life: an exclusive lock on
    ``.<name>.lock`` beside it, with the holder's pid inside. A second capsim writing the
    same folder is refused at once, naming the holder, whatever its options (``--force``
    replaces finished output, never output being written); two writers never mix data."""
    out = Path(out)
    parent = out.resolve().parent
    _check_parent(out, parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(str(out), "", f"cannot write {out}: {exc.strerror or exc}") from None
    path = parent / f".{out.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ScenarioError(
                "--out",
                str(out),
                f"is being written by another capsim (pid {holder}): wait for it to finish, "
                "or choose another folder",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)  # releases the lock


#: what a folder's summary.json must hold, by kind
_SUMMARY_KEYS = {
    "run": ("metrics", "replications"),
    "sweep": ("recommended", "points"),
    "stress": ("cases",),
    "compare": ("alternatives", "cases", "cells", "regret", "best"),
    "optimize": ("pools", "objective_value"),
}


def _damaged(path: Path, reason: str) -> ScenarioError:
    return ScenarioError(str(path), "", f"is damaged: {reason}; rerun the command that wrote it")


def check_folder(directory: Path) -> str:
    """The kind of a capsim output folder, after checking the files ``report`` and ``export``
    read: summary.json is UTF-8 JSON, an object with its kind's keys and no NaN or infinity
    (capsim writes those as null), and every Parquet file's footer reads. A damaged folder
    is named with the file and the reason (exit 2), never a traceback."""
    directory = Path(directory)
    kind = kind_of(directory)
    path = directory / "summary.json"
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        raise _damaged(path, "it is missing") from None
    except OSError as exc:
        raise _damaged(path, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _damaged(path, f"not UTF-8 text (byte {exc.start})") from None

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number capsim writes")

    try:
        summary = json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        raise _damaged(path, f"not valid JSON ({exc})") from None
    if not isinstance(summary, dict):
        raise _damaged(path, f"a JSON {type(summary).__name__}, not an object")
    missing = [k for k in _SUMMARY_KEYS[kind] if k not in summary]
    if missing:
        raise _damaged(path, f"a {kind} summary needs {', '.join(missing)}")
    for part in sorted(directory.glob("*.parquet")):
        try:
            pq.read_metadata(part)
        except Exception as exc:  # pyarrow raises several kinds for a bad file
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _damaged(part, f"not a readable Parquet file ({reason[:120]})") from None
    return kind


@contextlib.contextmanager
def replacing(out: Path, active: bool) -> Iterator[None]:
    """``--force`` over a finished sweep or optimisation, replaced whole: the earlier folder
    is set aside (a hidden sibling) while the new one is computed in ``out``; it is removed
    when the new one is written, and put back if the new one fails (a full disk, a file-size
    limit), so a failed replacement never leaves a half folder where a whole one was. An
    interrupt keeps the new, resumable work (``--resume``) as before."""
    out = Path(out)
    aside = out.resolve().parent / f".{out.name}.replaced"
    if not active or not out.is_dir() or not any(out.iterdir()):
        yield
        return
    if aside.exists():
        shutil.rmtree(aside)
    os.replace(out, aside)
    out.mkdir()
    try:
        yield
    except Exception:
        shutil.rmtree(out, ignore_errors=True)
        os.replace(aside, out)
        raise
    except BaseException:  # Ctrl-C, SIGTERM: the new work is kept to resume
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
