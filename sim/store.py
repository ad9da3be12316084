"""Reading and writing run, sweep and stress directories (the only module that writes files).

Every file is written to a temporary name in the same folder and renamed into place,
so a killed process never leaves a half-written file under a final name.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from sim.errors import ScenarioError
from sim.results import RunResult
from sim.scenario import Scenario

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
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ScenarioError(str(out), "", f"cannot write {out}: {exc.strerror or exc}") from None


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
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700: give it the user's usual mode
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        Path(tmp).chmod(0o666 & ~_umask())  # mkstemp makes 0600: the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(obj: Any) -> Any:
    """JSON has no NaN or inf: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (NaN and inf as null), atomically."""
    text = json.dumps(_clean(data), indent=2) + "\n"
    atomic_write(path, lambda p: _write_text(p, text))


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write a frame to Parquet, atomically."""
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_scenario(path: Path, scenario: Scenario) -> None:
    """Write the scenario as run (overrides applied) as TOML."""
    text = tomli_w.dumps(_toml_ready(scenario.raw))
    atomic_write(path, lambda p: _write_text(p, text))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write(path, lambda p: _write_text(p, text))


def _toml_ready(obj: Any) -> Any:
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, dict):
        return {k: _toml_ready(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_toml_ready(v) for v in obj]
    return obj


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
    """``run``, ``sweep``, ``stress`` or ``optimize``, by the files a directory holds."""
    d = Path(directory)
    if (d / "points.parquet").exists():
        return "sweep"
    if (d / "cases.parquet").exists():
        return "stress"
    if (d / "evaluations.parquet").exists():
        return "optimize"
    if (d / "replications.parquet").exists():
        return "run"
    raise FileNotFoundError(
        f"{d}: not a capsim run, sweep, stress or optimize directory "
        "(no replications.parquet, points.parquet, cases.parquet or evaluations.parquet)"
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


def partial_dir(out: Path) -> Path:
    """Where a run's finished blocks wait until the run directory is written whole: a hidden
    sibling of ``--out``, so the run directory itself appears whole or not at all."""
    out = Path(out)
    return out.resolve().parent / f".{out.name}.partial"


class FramesStore:
    """Finished run blocks as ``DIR/chunks/<id>/<frame>.parquet``, each block renamed into
    place whole (a block is there entirely or not at all)."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory) / "chunks"

    def has(self, block_id: str) -> bool:
        return (self.dir / block_id).is_dir()

    def load(self, block_id: str) -> dict[str, pd.DataFrame]:
        return {p.stem: pd.read_parquet(p) for p in sorted((self.dir / block_id).glob("*.parquet"))}

    def save(self, block_id: str, frames: dict[str, pd.DataFrame]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{block_id}.", dir=self.dir))
        try:
            for name, frame in frames.items():
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
            os.replace(tmp, self.dir / block_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def count(self) -> int:
        """Finished blocks (of a run: folders; of a stress study: Parquet files)."""
        return len([p for p in self.dir.glob("*") if not p.name.startswith(".")])


def prepare_partial(
    out: Path,
    manifest: dict[str, Any],
    resume: bool = False,
    force: bool = False,
    what: str = "run",
) -> Path:
    """Check and set up a run's partial folder (see :func:`partial_dir`) before any work.

    An interrupted run's blocks are kept there: ``resume`` completes it (refused if the run
    differs), ``force`` discards it, anything else is refused with the way forward."""
    partial = partial_dir(out)
    path = partial / "manifest.json"
    clean = _clean(manifest)
    if partial.exists():
        if resume:
            old = read_json(path) if path.exists() else {}
            diff_text = _manifest_difference(old, clean, what)
            if diff_text:
                raise ScenarioError(
                    "--resume",
                    str(out),
                    f"differs from the interrupted {what}: {diff_text}; rerun with the same "
                    "scenario and options, or --force to start again",
                )
            return partial
        if not force:
            kept = FramesStore(partial).count()
            raise ScenarioError(
                "--out",
                str(out),
                f"an interrupted {what} of this folder is kept ({kept} finished blocks in "
                f"{partial}): add --resume to complete it, or --force to start again",
            )
        shutil.rmtree(partial)
    elif resume:
        raise ScenarioError("--resume", str(out), f"holds no interrupted {what} to resume")
    partial.mkdir(parents=True)
    write_json(path, manifest)
    return partial


def drop_partial(partial: Path) -> None:
    """Remove a partial folder whose work is whole (or never began)."""
    shutil.rmtree(partial, ignore_errors=True)


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


def fingerprint(scenario: Scenario) -> dict[str, Any]:
    """What a resumed sweep must agree on: the scenario as resolved (overrides applied, so
    the same overrides in another order agree), and the bytes of every data file it reads."""
    resolved = _clean(_toml_ready(scenario.raw))
    canonical = json.dumps(resolved, sort_keys=True, default=str)
    files = {}
    for f in data_files_of(scenario):
        try:
            files[str(f)] = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        except OSError:
            files[str(f)] = "unreadable"
    return {
        "scenario_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "resolved_scenario": json.loads(canonical),
        "data_files": files,
    }


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    """The dotted key path of the first difference between two JSON-like values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            if old.get(k) != new.get(k):
                return _first_difference(old.get(k), new.get(k), f"{path}.{k}" if path else k)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"{path}: it had {old!r}, now {new!r}"


def _manifest_difference(old: dict[str, Any], new: dict[str, Any], what: str) -> str | None:
    """The first way an interrupted piece of work (``old`` manifest) differs from the one
    asked for now, in words; None when they agree."""
    diff = [k for k in new if old.get(k) != new[k] and k != "scenario_sha256"]
    if not diff:
        return None
    k = diff[0]
    if k == "resolved_scenario":
        return "the scenario (as resolved, overrides applied) changed at " + _first_difference(
            old.get(k), new[k]
        )
    if k == "data_files":
        changed = [f for f in new[k] if old.get(k, {}).get(f) != new[k][f]] or sorted(
            set(old.get(k, {})) - set(new[k])
        )
        return f"data file {changed[0]} changed since the {what} started"
    return f"{k}: it had {old.get(k)!r}, now {new[k]!r}"


def check_manifest(out: Path, manifest: dict[str, Any], resume: bool) -> None:
    """Record what a sweep is (``manifest.json``); on ``--resume``, insist it is the same one."""
    path = Path(out) / "manifest.json"
    clean = _clean(manifest)
    if resume:
        if not path.exists():
            raise ScenarioError(
                "--resume", str(out), "holds no interrupted sweep (no manifest.json)"
            )
        what = _manifest_difference(read_json(path), clean, "sweep")
        if what:
            raise ScenarioError(
                "--resume",
                str(out),
                f"differs from the interrupted sweep: {what}; rerun with the same scenario "
                "and options, or a new --out",
            )
        return
    chunks = Path(out) / "chunks"
    if chunks.exists():
        if not (Path(out) / "summary.json").exists():
            raise ScenarioError(
                "--out",
                str(out),
                "holds an interrupted sweep: add --resume to complete it, "
                "or remove the folder to start again",
            )
        shutil.rmtree(chunks)  # a finished sweep is being run again: start afresh
    write_json(path, clean)
