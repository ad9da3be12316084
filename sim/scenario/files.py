"""Data files a scenario names (traces, recordings, empirical samples): CSV read with
messages naming file, physical line and column, and never echoing a foreign file."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from sim.distributions import (
    FloatArray,
)
from sim.errors import ScenarioError, did_you_mean, read_regular
from sim.scenario.model import MAX_MAGNITUDE
from sim.scenario.values import checked_number


class _Rows(list[list[str]]):
    """CSV data rows, with the physical line each one starts on (``lines``)."""

    lines: list[int]


def data_path(
    where: str, path: str, base_dir: Path | None, file: str, external: bool = False
) -> Path:
    """A data file named in a scenario, which must lie under the scenario's folder (symlinks
    resolved) unless ``external`` data is allowed (``--allow-external-data``)."""
    folder = base_dir if base_dir is not None else Path(".")
    full = folder / file
    if not external:
        root = folder.resolve()
        if root != full.resolve() and root not in full.resolve().parents:
            raise ScenarioError(
                where,
                path,
                f"{file!r} lies outside the scenario's folder ({root}): keep data files with "
                "the scenario, or pass --allow-external-data",
            )
    return full


def read_csv(where: str, path: str, file: Path) -> tuple[list[str], _Rows]:
    """A CSV file's header and rows; a clear error naming the file when it cannot be read."""
    try:
        raw = read_regular(file)
    except OSError as exc:
        raise ScenarioError(where, path, f"cannot read {str(file)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} is not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x}",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    starts: list[int] = []
    try:
        for row in reader:
            starts.append(reader.line_num - row_lines(row) + 1)
            rows.append(row)
    except csv.Error as exc:
        raise ScenarioError(
            where, path, f"{str(file)!r} is not a valid CSV file (line {reader.line_num}): {exc}"
        ) from None
    if not rows:
        raise ScenarioError(where, path, f"{str(file)!r} is empty; a header row is required")
    header = [h.strip() for h in rows[0]]
    data = _Rows(rows[1:])
    data.lines = starts[1:]
    if len(header) == 1 and ";" in header[0]:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} looks separated by semicolons (header {shown(header[0], 60)}): "
            "capsim reads comma-separated files",
        )
    return header, data


def row_lines(row: list[str]) -> int:
    """Physical lines a parsed CSV row spanned (quoted cells may hold line breaks)."""
    return 1 + sum(cell.count("\n") for cell in row)


def shown(text: str, limit: int = 32) -> str:
    """A cell as quoted in a message: short, so no message repeats a line of a foreign file."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def header_columns(header: list[str]) -> str:
    """The header as listed in a message, if it looks like named columns."""
    plausible = len(header) <= 50 and all(
        0 < len(h) <= 40 and h.replace("_", "").replace("-", "").replace(" ", "").isalnum()
        for h in header
    )
    if plausible:
        return f"; columns: {', '.join(header)}"
    return "; its first line is not a header of named columns (is it a CSV file?)"


def read_column(where: str, path: str, file: Path, column: str) -> FloatArray:
    """One numeric column of a CSV file, every value checked."""
    header, rows = read_csv(where, path, file)
    if column not in header:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} has no column {column!r}{did_you_mean(column, header)}"
            f"{header_columns(header)}",
        )
    i = header.index(column)
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        try:
            if "_" in row[i]:
                raise ValueError(row[i])  # Python reads 1_0 as 10
            out[n] = float(row[i])
        except (ValueError, IndexError):
            got = shown(row[i]) if i < len(row) else "nothing"
            raise ScenarioError(
                str(file), f"line {rows.lines[n]}", f"column {column!r} must be a number, got {got}"
            ) from None
        if not math.isfinite(out[n]):
            raise ScenarioError(
                str(file),
                f"line {rows.lines[n]}",
                f"column {column!r} must be finite, got {shown(row[i])}",
            )
        if abs(out[n]) > MAX_MAGNITUDE:
            raise ScenarioError(
                str(file),
                f"line {rows.lines[n]}",
                f"column {column!r} must be at most {MAX_MAGNITUDE:.0e} in size (a typo?), "
                f"got {shown(row[i])}",
            )
    if len(out) == 0:
        raise ScenarioError(where, path, f"{str(file)!r} has no data rows")
    return out


def read_trace(
    where: str, path: str, file: Path, default_wait: float, default_priority: int
) -> dict[str, FloatArray]:
    """A job trace's columns (submit, units, duration; wait and priority defaulted)."""
    header, rows = read_csv(where, path, file)
    required = ("submit_hours", "units", "duration_hours")
    optional = ("max_wait_hours", "priority")
    for col in required:
        if col not in header:
            raise ScenarioError(
                where,
                path,
                f"{str(file)!r} lacks required column {col!r}{did_you_mean(col, header)}; "
                f"required: {', '.join(required)}; optional: {', '.join(optional)}",
            )
    twice = [c for i, c in enumerate(header) if c in header[:i]]
    if twice:
        raise ScenarioError(
            str(file), "line 1", f"the header names column {twice[0]!r} twice: which is it?"
        )
    idx = {c: header.index(c) for c in (*required, *optional) if c in header}
    n = len(rows)
    out = {c: np.empty(n) for c in (*required, *optional)}
    for r, row in enumerate(rows):
        line = f"line {rows.lines[r]}"
        if len(row) > len(header):
            raise ScenarioError(
                str(file),
                line,
                f"has {len(row)} cells for {len(header)} columns (a stray comma, or a cell "
                "with a comma that needs quotes?)",
            )
        for col in (*required, *optional):
            if col not in idx or idx[col] >= len(row) or row[idx[col]].strip() == "":
                if col in required:
                    raise ScenarioError(str(file), line, f"column {col!r} is empty")
                out[col][r] = default_wait if col == "max_wait_hours" else default_priority
                continue
            text = row[idx[col]]
            if "_" in text:  # Python reads 1_0 as 10; a CSV of numbers never means that
                raise ScenarioError(
                    str(file), line, f"column {col!r} must be a number, got {text!r}"
                )
            try:
                value = checked_number(
                    str(file),
                    line,
                    float(text) if text.strip().lower() not in ("inf", "infinity") else "inf",
                    allow_inf=col == "max_wait_hours",
                )
            except ValueError:
                raise ScenarioError(
                    str(file), line, f"column {col!r} must be a number, got {text!r}"
                ) from None
            low = 0.0 if col in ("submit_hours", "duration_hours", "max_wait_hours") else None
            if col == "priority" and not float(value).is_integer():
                raise ScenarioError(
                    str(file), line, f"column 'priority' must be a whole number, got {text!r}"
                )
            if col == "units" and value <= 0:
                raise ScenarioError(str(file), line, f"column 'units' must be > 0, got {text!r}")
            if low is not None and value < low:
                raise ScenarioError(str(file), line, f"column {col!r} must be >= 0, got {text!r}")
            out[col][r] = value
    if n == 0:
        raise ScenarioError(where, path, f"{str(file)!r} has no data rows")
    return out
