"""The compiled engine: the same sources, used only while they match, never a different
number; the interpreted engine wherever no compiler is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.engine import native

ROOT = Path(__file__).resolve().parents[1]
HAS_COMPILER = shutil.which("cc") is not None or shutil.which("gcc") is not None


def _fake_engine(tmp: Path) -> Path:
    engine = tmp / "engine"
    engine.mkdir()
    for m in (*native.MODULES, "native"):
        shutil.copy2(native.HERE / f"{m}.py", engine / f"{m}.py")
    return engine


def test_an_edited_engine_file_is_never_shadowed_by_its_old_compiled_module(tmp_path):
    engine = _fake_engine(tmp_path)
    out = tmp_path / "_native"
    # a compiled build for the sources as they are (its files stand in for mypyc's output)
    folder = out / native.digest(engine)
    suffix = native.importlib.machinery.EXTENSION_SUFFIXES[0]
    (folder / "sim" / "engine").mkdir(parents=True)
    for m in native.MODULES:
        (folder / "sim" / "engine" / f"{m}{suffix}").write_bytes(b"")
    (folder / f"0123__mypyc{suffix}").write_bytes(b"")
    before = list(sys.meta_path)
    try:
        assert native.install(engine, out) and native.Status.compiled
        sys.meta_path[:] = before
        # one character changed in one module: another digest, no build for it
        path = engine / "backfill.py"
        path.write_text(path.read_text() + "\n# edited\n")
        assert not native.install(engine, out)
        assert not native.Status.compiled and "no compiled engine" in native.Status.reason
        assert sys.meta_path == before  # nothing would load the stale modules
    finally:
        sys.meta_path[:] = before
        native.install()  # this process's own status again


def test_pure_python_is_asked_for_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(native.PURE_ENV, "1")
    try:
        assert not native.install()
        assert native.Status.reason == "interpreted (CAPSIM_PURE_PYTHON=1)"
    finally:
        monkeypatch.delenv(native.PURE_ENV)
        native.install()


def test_without_a_c_compiler_the_build_says_so_and_installs_interpreted(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, no gcc
    monkeypatch.setenv("CC", "no-such-compiler")
    said: list[str] = []
    assert native.build(_fake_engine(tmp_path), tmp_path / "_native", said.append) is None
    assert len(said) == 1 and "no C compiler" in said[0] and "interpreted" in said[0]
    record = native.last_build(tmp_path / "_native")
    assert record is not None and record["environment"] and record["reason"] == "no C compiler"


@pytest.mark.skipif(not HAS_COMPILER, reason="no C compiler: the engine runs interpreted")
def test_this_installation_runs_the_compiled_engine():
    """make setup compiled the engine for the sources in the tree: the tests run it (and
    the next test runs the interpreted one against the same golden numbers). A build that
    failed for the machine's want (no headers, no working compiler) is skipped; one that
    failed on capsim's own code (a type error mypyc will not compile) fails here."""
    from sim.engine import core

    if not native.Status.compiled:
        record = native.last_build() or {}
        if record.get("digest") == native.digest() and record.get("environment"):
            pytest.skip(f"this machine cannot compile the engine: {record.get('reason')}")
    assert native.Status.compiled, (native.Status.reason, native.last_build())
    assert core.__file__.endswith(native.importlib.machinery.EXTENSION_SUFFIXES[0])


def test_interpreted_and_compiled_give_the_recorded_frames_bit_for_bit():
    """The golden frames (tests/data/golden_frames.json), computed in a fresh interpreter
    with CAPSIM_PURE_PYTHON=1; the in-process guard (test_bit_identical) checks the compiled
    engine against the same record."""
    code = (
        "import json, sys; from tests.golden_frames import compute; "
        "from sim.engine import native; "
        "json.dump({'status': native.Status.reason, 'frames': compute()}, sys.stdout)"
    )
    env = {**os.environ, native.PURE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "interpreted (CAPSIM_PURE_PYTHON=1)"
    recorded = json.loads((ROOT / "tests/data/golden_frames.json").read_text())
    assert out["frames"] == recorded


def test_an_interpreted_engine_nobody_asked_for_is_said_once(tmp_path, monkeypatch):
    from sim.cli import common

    said: list[str] = []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(common.err, "print", lambda text, **_: said.append(text))
    monkeypatch.setattr(native.Status, "compiled", False)
    monkeypatch.setattr(native.Status, "reason", "interpreted: no compiled engine (test)")
    common.say_engine_once()
    common.say_engine_once()
    assert len(said) == 1 and "same" in said[0] and "no compiled engine (test)" in said[0]
    monkeypatch.setenv(native.PURE_ENV, "1")  # asked for: nothing to say
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    common.say_engine_once()
    assert len(said) == 1
