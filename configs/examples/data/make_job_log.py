"""Regenerate job-log.csv: a synthetic two-year scheduler export (seed 2024).

It looks like what ``sacct`` or a Kubernetes job history exports: one row per job with a
team, ISO timestamps for submit, start and end, and the chips it held. Two teams:
``pretraining`` (about one job a day growing 25 %/yr, 512-2048 chips, lognormal durations
around 200 h) and ``fine-tuning`` (about six a day growing 20 %/yr, submitted mostly in
working hours, 32-256 chips, gamma durations with mean 16 h). Waits are exponential
(mean 3 h). ``capsim fit jobs`` recovers these; ``fitted-jobs.toml`` was built from it.
"""

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

rng = np.random.default_rng(2024)
origin = datetime(2024, 7, 1)
span = 730 * 24.0  # hours


def arrivals(rate_per_day: float, growth: float, daily: float) -> np.ndarray:
    """A Poisson process with rate r0 (1+g)^(t/8760) (1 + daily cos(2π(h-14)/24)), by thinning."""
    top = rate_per_day / 24 * (1 + growth) ** (span / 8760) * (1 + daily)
    t = np.cumsum(rng.exponential(1 / top, int(top * span * 1.2) + 100))
    t = t[t < span]
    lam = (
        rate_per_day
        / 24
        * (1 + growth) ** (t / 8760)
        * (1 + daily * np.cos(2 * np.pi * (t % 24 - 14) / 24))
    )
    return t[rng.uniform(0, top, len(t)) < lam]


rows = ["job_id,team,submit,start,end,chips"]
jobs = []
for team, rate, growth, daily, sizes, weights, dur in (
    ("pretraining", 1.0, 0.25, 0.0, [512, 1024, 2048], [0.5, 0.35, 0.15], "lognormal"),
    ("fine-tuning", 6.0, 0.20, 0.6, [32, 64, 128, 256], [0.35, 0.3, 0.25, 0.1], "gamma"),
):
    t = arrivals(rate, growth, daily)
    n = len(t)
    chips = rng.choice(sizes, size=n, p=weights)
    if dur == "lognormal":
        d = rng.lognormal(np.log(200.0), 0.6, n)
    else:
        k = 1 / 0.7**2
        d = rng.gamma(k, 16.0 / k, n)
    wait = rng.exponential(3.0, n)
    jobs += [(s, team, s + w, s + w + x, c) for s, w, x, c in zip(t, wait, d, chips, strict=True)]
jobs.sort()


def stamp(hours: float) -> str:
    return (origin + timedelta(seconds=round(hours * 3600))).isoformat(sep=" ")


for i, (s, team, start, end, c) in enumerate(jobs, 1):
    rows.append(f"{i},{team},{stamp(s)},{stamp(start)},{stamp(end)},{c}")
Path(__file__).with_name("job-log.csv").write_text("\n".join(rows) + "\n")
