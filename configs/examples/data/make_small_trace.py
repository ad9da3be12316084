"""Regenerate small-trace.csv: 240 synthetic training jobs over 30 days (seed 2026)."""

from pathlib import Path

import numpy as np

rng = np.random.default_rng(2026)
n = 240
submit = np.sort(rng.uniform(0, 30 * 24, n))
units = rng.choice([1, 2, 4, 8, 16, 32], size=n, p=[0.3, 0.2, 0.2, 0.15, 0.1, 0.05])
duration = rng.lognormal(np.log(6.0), 1.0, n)
max_wait = np.where(units >= 16, 24.0, 6.0)
priority = np.where(units >= 16, 0, 1)
rows = ["submit_hours,units,duration_hours,max_wait_hours,priority"]
rows += [
    f"{s:.3f},{u},{d:.3f},{w:g},{p}"
    for s, u, d, w, p in zip(submit, units, duration, max_wait, priority, strict=True)
]
Path(__file__).with_name("small-trace.csv").write_text("\n".join(rows) + "\n")
