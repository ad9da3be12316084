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


def digest(frame: pd.DataFrame) -> str:
    """A hash of a frame's columns and values, numbers to 10 significant digits (what a
    different BLAS or summation order could move lies below that)."""
    h = hashlib.sha256()
    for col in frame.columns:
        h.update(str(col).encode())
        v = frame[col]
        if pd.api.types.is_float_dtype(v):
            x = v.to_numpy(dtype=float)
            finite = np.abs(x[np.isfinite(x)])
            scale = float(finite.max()) if len(finite) else 0.0
            # rounding residue (a -3e-8 dollar left by a subtraction) is zero here
            x = np.where(np.abs(x) <= 1e-9 * scale, 0.0, x)
            h.update(np.array([float(f"{y:.10g}") for y in x]).tobytes())
        else:
            h.update(v.astype(str).str.cat(sep="|").encode())
    return h.hexdigest()


def compute() -> dict[str, dict[str, str]]:
    out = {}
    for name, (path, overrides, n) in CASES.items():
        sc = sim.load_scenario(ROOT / path, overrides)
        r = sim.run(sc, n=n, workers=1)
        out[name] = {f: digest(getattr(r, f)) for f in FRAMES if getattr(r, f) is not None}
    return out


if __name__ == "__main__":
    DATA.write_text(json.dumps(compute(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {DATA}")
