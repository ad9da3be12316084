"""The one build step inside ``pip install``: compile the engine with mypyc where a C
compiler is present (see sim/engine/native.py). Everything else is in pyproject.toml."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _native() -> Any:
    """sim/engine/native.py, loaded by path: capsim's dependencies are not installed yet."""
    spec = importlib.util.spec_from_file_location("capsim_native", HERE / "sim/engine/native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyCompilingTheEngine(build_py):
    """build_py, then the compiled engine: into the source tree for an editable install
    (where the package is imported from), into the wheel otherwise."""

    def run(self) -> None:
        super().run()
        editable = bool(getattr(self, "editable_mode", False))
        engine = HERE / "sim/engine" if editable else Path(self.build_lib) / "sim/engine"
        try:
            _native().build(engine, engine / "_native")
        except Exception as exc:  # a failed compile must never fail the install
            print(f"capsim: the engine could not be compiled ({exc}); it will run interpreted")


setup(cmdclass={"build_py": BuildPyCompilingTheEngine})
