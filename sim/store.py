"""Reading and writing run, sweep and stress directories (the only module that writes files).

Every file is written to a temporary name in the same folder and renamed into place,
so a killed process never leaves a half-written file under a final name.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from sim.errors import ScenarioError
from sim.results import RunResult
from sim.scenario import Scenario


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
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
    """``run``, ``sweep`` or ``stress``, by the files a directory holds."""
    d = Path(directory)
    if (d / "points.parquet").exists():
        return "sweep"
    if (d / "cases.parquet").exists():
        return "stress"
    if (d / "replications.parquet").exists():
        return "run"
    raise FileNotFoundError(
        f"{d}: not a capsim run, sweep or stress directory "
        "(no replications.parquet, points.parquet or cases.parquet)"
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


def write_stress(
    out: Path, cases: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> list[Path]:
    """Write a stress directory's final files."""
    return _write_table_dir(out, "cases.parquet", cases, summary, scenario)


def check_manifest(out: Path, manifest: dict[str, Any], resume: bool) -> None:
    """Record what a sweep is (``manifest.json``); on ``--resume``, insist it is the same one."""
    path = Path(out) / "manifest.json"
    clean = _clean(manifest)
    if resume:
        if not path.exists():
            raise ScenarioError(
                "--resume", str(out), "holds no interrupted sweep (no manifest.json)"
            )
        old = read_json(path)
        diff = [k for k in clean if old.get(k) != clean[k]]
        if diff:
            k = diff[0]
            raise ScenarioError(
                "--resume",
                k,
                f"differs from the interrupted sweep in {out}: it had "
                f"{old.get(k)!r}, now {clean[k]!r}; rerun with the same options or a new --out",
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
