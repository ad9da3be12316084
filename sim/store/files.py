"""Writing one file safely (a temporary name in the same folder, renamed into place) and
reading it back: JSON, Parquet, TOML, text."""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from sim.errors import ScenarioError
from sim.scenario import Scenario


def current_umask() -> int:
    """The process's umask (read without changing it)."""
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
        Path(tmp).chmod(0o666 & ~current_umask())  # mkstemp makes 0600: the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(obj: Any) -> Any:
    """JSON has no NaN or inf: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item"):
        return json_safe(obj.item())
    return obj


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (NaN and inf as null), atomically."""
    text = json.dumps(json_safe(data), indent=2) + "\n"
    atomic_write(path, lambda p: _write_text(p, text))


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write a frame to Parquet, atomically."""
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_scenario(path: Path, scenario: Scenario) -> None:
    """Write the scenario as run (overrides applied) as TOML."""
    text = tomli_w.dumps(toml_ready(scenario.raw))
    atomic_write(path, lambda p: _write_text(p, text))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write(path, lambda p: _write_text(p, text))


def toml_ready(obj: Any) -> Any:
    """``obj`` with infinities as the strings TOML takes (``"inf"``), recursively."""
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, dict):
        return {k: toml_ready(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [toml_ready(v) for v in obj]
    return obj


#: how capsim recognises its own files before it replaces one
_OWN_MARKS = {
    ".html": b"Made by capsim",
    ".toml": b"# Fitted by capsim",
    ".xlsx": b"capsim",  # the workbook's creator, in docProps/core.xml
    ".pdf": b"capsim",  # the document's creator
}


def is_capsims(path: Path, suffixes: tuple[str, ...] = ()) -> bool:
    """Whether an existing file or folder at ``path`` is capsim's to replace: nothing there,
    a file capsim wrote (a report page or PDF, a fitted fragment, a workbook), or a folder of
    capsim's: it holds capsim's marker ``.capsim``, or (written before the marker) only
    regular files with the ``suffixes`` capsim writes there. A symbolic link never is."""
    path = Path(path)
    if path.is_symlink():
        return False
    if not path.exists():
        return True
    if path.is_dir():
        if (path / MARKER).exists():
            return True
        entries = list(path.iterdir())
        return bool(suffixes) and all(
            e.is_file() and not e.is_symlink() and e.suffix in suffixes for e in entries
        )
    mark = _OWN_MARKS.get(path.suffix)
    if mark is None:
        return False
    if path.suffix == ".xlsx":
        try:
            with zipfile.ZipFile(path) as z:
                return mark in z.read("docProps/core.xml")
        except (OSError, KeyError, zipfile.BadZipFile):
            return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
            fh.seek(max(0, path.stat().st_size - (1 << 16)))
            tail = fh.read()  # a report's mark is at its end, after the figures
        return mark in head or mark in tail
    except OSError:
        return False


MARKER = ".capsim"
"""A file in every folder capsim writes inside an output folder (export/, figures/):
it may replace that folder; it never replaces one without it."""


def refuse_foreign(path: Path, option: str = "--out", suffixes: tuple[str, ...] = ()) -> None:
    """Refuse to replace ``path`` unless it is capsim's own (:func:`is_capsims`)."""
    if not is_capsims(path, suffixes):
        what = "a symbolic link" if Path(path).is_symlink() else "not capsim's"
        raise ScenarioError(
            option,
            str(path),
            f"is {what}: capsim replaces only files and folders it wrote; move it away first",
        )
