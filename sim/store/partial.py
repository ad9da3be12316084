"""Work in progress: the hidden partial folder of finished blocks beside --out, the
scenario's fingerprint and the manifest a resumed study must match."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.store.files import json_safe, read_json, toml_ready, write_json
from sim.store.folders import data_files_of


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
    clean = json_safe(manifest)
    if partial.exists():
        if resume:
            old = read_json(path) if path.exists() else {}
            diff_text = manifest_difference(old, clean, what)
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


def fingerprint(scenario: Scenario) -> dict[str, Any]:
    """What a resumed sweep must agree on: the scenario as resolved (overrides applied, so
    the same overrides in another order agree), and the bytes of every data file it reads."""
    resolved = json_safe(toml_ready(scenario.raw))
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


def manifest_difference(old: dict[str, Any], new: dict[str, Any], what: str) -> str | None:
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
    if k.endswith("_sha256") and isinstance(new[k], list):
        files = new.get(k.replace("_sha256", ""), new.get("cases" if "case" in k else k, []))
        olds = old.get(k) or []
        at = next(
            (i for i, h in enumerate(new[k]) if i >= len(olds) or olds[i] != h), len(new[k]) - 1
        )
        name = files[at] if isinstance(files, list) and at < len(files) else f"number {at + 1}"
        return f"{name} changed since the {what} started (its content, as merged)"
    if k == "data_files":
        changed = [f for f in new[k] if old.get(k, {}).get(f) != new[k][f]] or sorted(
            set(old.get(k, {})) - set(new[k])
        )
        return f"data file {changed[0]} changed since the {what} started"
    return f"{k}: it had {old.get(k)!r}, now {new[k]!r}"


def check_manifest(out: Path, manifest: dict[str, Any], resume: bool, what: str = "sweep") -> None:
    """Record what a sweep (or optimisation: ``what``) is (``manifest.json``); on
    ``--resume``, insist it is the same one."""
    path = Path(out) / "manifest.json"
    clean = json_safe(manifest)
    if resume:
        if not path.exists():
            raise ScenarioError(
                "--resume", str(out), f"holds no interrupted {what} (no manifest.json)"
            )
        diff = manifest_difference(read_json(path), clean, what)
        if diff:
            raise ScenarioError(
                "--resume",
                str(out),
                f"differs from the interrupted {what}: {diff}; rerun with the same scenario "
                "and options, or a new --out",
            )
        return
    chunks = Path(out) / "chunks"
    if chunks.exists():
        if not (Path(out) / "summary.json").exists():
            raise ScenarioError(
                "--out",
                str(out),
                f"holds an interrupted {what}: add --resume to complete it, "
                "or remove the folder to start again",
            )
        shutil.rmtree(chunks)  # a finished sweep is being run again: start afresh
    write_json(path, clean)
