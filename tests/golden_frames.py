"""Regenerate tests/data/golden_frames.json: python -m tests.golden_frames (say why in the
commit: a change of these numbers is a change of results)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

import sim

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/data/golden_frames.json"
CASES = {
    "baseline-0.15y": ("configs/baseline.toml", ["scenario.years=0.15"], 3),
    "mmc": ("configs/examples/mmc.toml", ["scenario.years=0.2"], 3),
    "trace": ("configs/examples/trace-replay.toml", [], 2),
    "gang-loss": ("configs/examples/gang-loss.toml", ["scenario.years=0.2"], 2),
}
FRAMES = ("replications", "timeseries", "spend", "waits", "contract")


def column_digest(v: pd.Series) -> str:
    """A hash of one column's values, numbers to 10 significant digits (what a different
    BLAS or summation order could move lies below that)."""
    h = hashlib.sha256()
    if pd.api.types.is_float_dtype(v):
        x = v.to_numpy(dtype=float)
        finite = np.abs(x[np.isfinite(x)])
        scale = float(finite.max()) if len(finite) else 0.0
        # rounding residue (a -3e-8 dollar left by a subtraction) is zero here
        x = np.where(np.abs(x) <= 1e-9 * scale, 0.0, x)
        h.update(np.array([float(f"{y:.10g}") for y in x]).tobytes())
    else:
        h.update(v.astype(str).str.cat(sep="|").encode())
    return h.hexdigest()[:20]


def digest(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's hash, by name: a new column shows as new, a moved one as moved."""
    return {str(col): column_digest(frame[col]) for col in frame.columns}


def compute() -> dict[str, dict[str, dict[str, str]]]:
    out = {}
    for name, (path, overrides, n) in CASES.items():
        sc = sim.load_scenario(ROOT / path, overrides)
        r = sim.run(sc, n=n, workers=1)
        out[name] = {f: digest(getattr(r, f)) for f in FRAMES if getattr(r, f) is not None}
    return out


def differences(recorded: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    """What differs between two cases' column digests, one line per column: moved (same
    column, other numbers), new, gone; and whole frames new or gone."""
    out = []
    for frame in sorted(set(recorded) | set(now)):
        if frame not in now:
            out.append(f"{frame}: frame gone")
            continue
        if frame not in recorded:
            out.append(f"{frame}: new frame")
            continue
        was, is_ = recorded[frame], now[frame]
        out += [f"{frame}.{c}: MOVED" for c in was if c in is_ and was[c] != is_[c]]
        out += [f"{frame}.{c}: new column" for c in is_ if c not in was]
        out += [f"{frame}.{c}: column gone" for c in was if c not in is_]
    return out


if __name__ == "__main__":
    DATA.write_text(json.dumps(compute(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {DATA}")
