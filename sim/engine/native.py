"""The compiled engine: the same ``.py`` files, compiled by mypyc, used only while they
match the sources.

``pip install`` (setup.py) runs :func:`build`: mypyc compiles :data:`MODULES` into
``sim/engine/_native/<digest>/``, where the digest covers those modules' sources and the
interpreter. At import, :func:`install` looks for the folder of the *current* sources'
digest and, when it exists, puts a finder first on ``sys.meta_path`` that loads those
modules from it. So:

* an edited engine file changes the digest: the compiled modules of the old sources are
  never used (they are not on any import path), and the engine runs interpreted until
  the next ``pip install`` (``make setup`` does one when pyproject.toml or the engine
  changed);
* ``CAPSIM_PURE_PYTHON=1`` runs the same sources interpreted, with identical results
  (the bit-identical guard runs both ways);
* a machine without a C compiler (or without mypy at build time) installs anyway and runs
  interpreted: the build says so once, and :class:`Status` says why.

This module imports nothing of capsim's: setup.py loads it by path, before capsim's
dependencies exist.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MODULES = (
    "eventheap",
    "states",
    "model",
    "jobs",
    "books",
    "queues",
    "backfill",
    "policies",
    "dispatch",
    "overflow",
    "demand",
    "strategies",
    "core",
)
"""The engine modules compiled (``clock`` is not: it subclasses SimPy's classes)."""

HERE = Path(__file__).resolve().parent
NATIVE = HERE / "_native"
PURE_ENV = "CAPSIM_PURE_PYTHON"


def digest(engine_dir: Path = HERE) -> str:
    """A digest of the compiled modules' sources, of this file (how they are built) and of
    the interpreter they are built for."""
    h = hashlib.sha256()
    h.update(f"{sys.implementation.cache_tag}|{sysconfig.get_platform()}".encode())
    h.update((engine_dir / "native.py").read_bytes())
    for name in MODULES:
        h.update(name.encode())
        h.update((engine_dir / f"{name}.py").read_bytes())
    return h.hexdigest()[:24]


class _Finder(importlib.abc.MetaPathFinder):
    """Loads the compiled engine modules (and mypyc's shared library) from one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        self.files = {
            f"sim.engine.{m}": folder / "sim" / "engine" / f"{m}{suffix}" for m in MODULES
        }
        for lib in folder.glob(f"*__mypyc{suffix}"):
            self.files[lib.name[: -len(suffix)]] = lib

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


class Status:
    """Which engine this process runs, and why."""

    compiled = False
    reason = "interpreted: the engine package was not imported yet"


def install(engine_dir: Path = HERE, native: Path = NATIVE) -> bool:
    """Use the compiled engine if one was built for these very sources (and
    ``CAPSIM_PURE_PYTHON`` is not 1); :class:`Status` says which. Call before the engine's
    modules are imported."""
    if os.environ.get(PURE_ENV) == "1":
        Status.compiled, Status.reason = False, f"interpreted ({PURE_ENV}=1)"
        return False
    folder = native / digest(engine_dir)
    finder = _Finder(folder)
    missing = [f for f in finder.files.values() if not f.exists()]
    if not folder.is_dir() or missing or len(finder.files) <= len(MODULES):
        Status.compiled, Status.reason = (
            False,
            (
                "interpreted: no compiled engine for these sources (make setup, or pip install, "
                "compiles one where a C compiler is present)"
            ),
        )
        return False
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, finder)
    Status.compiled, Status.reason = True, "compiled (mypyc), on SimPy's compiled twin (eventheap)"
    return True


def build(engine_dir: Path = HERE, out: Path = NATIVE, log: object = print) -> Path | None:
    """Compile :data:`MODULES` with mypyc into ``out/<digest>/``; the folder, or None (with
    the reason logged) when mypyc or a C compiler is missing or the build fails. Folders
    of other digests are removed (they can never be used again)."""
    say = log if callable(log) else print
    target = out / digest(engine_dir)
    if target.is_dir():
        return target
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        say("capsim: no C compiler found; the engine will run interpreted (same results)")
        _record(out, target.name, "no C compiler", environment=True)
        return None
    package = engine_dir.parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(
            package, work / "sim", ignore=shutil.ignore_patterns("_native", "__pycache__")
        )
        files = [f"sim/engine/{m}.py" for m in MODULES]
        # only the engine's modules are type-checked: what they import from the rest of capsim
        # (and numpy, simpy) is Any, so the build does not depend on what the isolated build
        # environment happens to have installed
        cmd = [
            sys.executable, "-m", "mypyc", "--ignore-missing-imports",
            "--follow-imports=skip", *files,
        ]  # fmt: skip
        done = subprocess.run(
            cmd, cwd=work, capture_output=True, text=True, check=False, timeout=1800
        )
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        built = [work / "sim" / "engine" / f"{m}{suffix}" for m in MODULES]
        libs = list(work.glob(f"*__mypyc{suffix}"))
        if done.returncode != 0 or not libs or not all(f.exists() for f in built):
            text = done.stdout + done.stderr
            tail = text.strip().splitlines()[-3:]
            say(
                "capsim: the engine could not be compiled; it will run interpreted (same "
                "results): " + " | ".join(tail)
            )
            # the machine's lack (headers, a working compiler) or capsim's own error (a type
            # error mypyc will not compile): tests/test_native.py fails only on the latter
            machine = any(m in text for m in ("Python.h", "unable to execute", "not found"))
            _record(out, target.name, " | ".join(tail), environment=machine)
            return None
        staging = out / f".{target.name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "sim" / "engine").mkdir(parents=True)
        for f in built:
            shutil.copy2(f, staging / "sim" / "engine" / f.name)
        for lib in libs:
            shutil.copy2(lib, staging / lib.name)
        for old in out.iterdir():
            if old.is_dir() and old.name != staging.name:
                shutil.rmtree(old, ignore_errors=True)
        staging.rename(target)
    say(f"capsim: compiled the engine with mypyc into {target}")
    _record(out, target.name, "compiled", environment=False)
    return target


BUILD_RECORD = "BUILD.json"
"""In the ``_native`` folder: how the last build, for which digest, went."""


def _record(out: Path, digest_: str, reason: str, environment: bool) -> None:
    """Note how the build went, for the tests (a failed compile on a machine that can
    compile is capsim's error; no compiler is the machine's)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / BUILD_RECORD).write_text(
            json.dumps({"digest": digest_, "reason": reason, "environment": environment})
        )
    except OSError:
        pass


def last_build(out: Path = NATIVE) -> dict[str, object] | None:
    """The record of the last build attempt, if any."""
    try:
        data = json.loads((out / BUILD_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
