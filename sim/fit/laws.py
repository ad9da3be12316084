"""What every fit shares: estimates with their intervals, the KS verdict, profiles, and
the positive laws (lognormal, gamma, exponential) a duration is fitted to by AIC."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

Z95 = 1.959963984540054
MIN_JOBS = 20
SHORT_DAYS = 180.0
PROFILE_P = 0.01


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95 % interval."""

    value: float
    low: float
    high: float


def _verdict_ks(d: float) -> str:
    if d < 0.03:
        return "good"
    if d < 0.08:
        return "fair"
    return "poor"


@dataclass(frozen=True)
class Profile:
    """Arrivals (or demand) by hour of day or day of week, relative to the fit."""

    period: str
    """``"daily"`` (24 bins, hours) or ``"weekly"`` (7 bins, days from Monday)."""
    relative: list[float]
    """Observed over expected per bin (1 = no profile)."""
    amplitude: float
    """Relative amplitude of the first harmonic (capsim's ``*_amplitude``)."""
    peak: float
    """Where the first harmonic peaks: hour of day, or day of week (0 = Monday 00:00)."""
    statistic: float
    """χ² (arrivals) or the one-way ANOVA F (demand) of the bins against no profile."""
    p_value: float

    @property
    def present(self) -> bool:
        return self.p_value < PROFILE_P


def first_harmonic(rel: FloatArray, period: float, width: float) -> tuple[float, float]:
    """Amplitude and peak (in the bin's unit, from bin centres) of a relative profile.

    Counting a cosine in n bins per period averages it over each bin, which shrinks its
    first harmonic by sinc(π/n) (0.955 for the week's seven day bins, 0.997 for the day's 24
    hour bins): the amplitude is divided by it."""
    n = len(rel)
    centres = (np.arange(n) + 0.5) * width
    z = np.mean((rel - rel.mean()) * np.exp(-2j * np.pi * centres / period))
    binning = math.sin(math.pi / n) / (math.pi / n)
    amp = 2 * abs(z) / max(rel.mean(), 1e-12) / binning
    peak = (-np.angle(z) / (2 * np.pi) * period) % period
    return float(amp), float(peak)


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class DistFit:
    """One candidate law for a per-job quantity, in capsim's parametrisation."""

    dist: str
    params: dict[str, float]
    loglik: float
    aic: float
    ks: float
    """Kolmogorov–Smirnov distance between the data and the fitted law."""

    @property
    def verdict(self) -> str:
        return _verdict_ks(self.ks)

    def frozen(self) -> stats.rv_continuous:
        p = self.params
        if self.dist == "fixed":  # every value the same: a point mass (as a zero-width law)
            return stats.uniform(loc=p["value"], scale=0.0)
        if self.dist == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=p["median"])
        if self.dist == "gamma":
            k = 1 / p["cv"] ** 2
            return stats.gamma(a=k, scale=p["mean"] / k)
        return stats.expon(scale=p["mean"])

    def toml(self) -> str:
        inner = ", ".join(f"{k} = {num(v)}" for k, v in self.params.items())
        return f'{{ dist = "{self.dist}", {inner} }}'


def fit_positive(x: FloatArray) -> list[DistFit]:
    """Lognormal, gamma and exponential fitted by maximum likelihood to positive data,
    best (lowest AIC) first."""
    x = np.asarray(x, dtype=float)
    if len(x) and float(np.ptp(x)) <= 1e-12 * max(abs(float(x[0])), 1.0):
        # every value the same (a fixed timeout, a rounded log): no spread to fit; a fixed
        # value fits exactly (the other laws would have a zero or undefined scale)
        return [DistFit("fixed", {"value": float(x[0])}, math.inf, -math.inf, 0.0)]
    logs = np.log(x)
    cands: list[tuple[str, dict[str, float], stats.rv_continuous, int]] = []
    mu, sig = float(logs.mean()), float(logs.std())
    sig = max(sig, 1e-9)
    cands.append(
        (
            "lognormal",
            {"median": math.exp(mu), "sigma": sig},
            stats.lognorm(s=sig, scale=math.exp(mu)),
            2,
        )
    )
    k, _, scale = stats.gamma.fit(x, floc=0)
    cands.append(
        ("gamma", {"mean": k * scale, "cv": 1 / math.sqrt(k)}, stats.gamma(a=k, scale=scale), 2)
    )
    m = float(x.mean())
    cands.append(("exponential", {"mean": m}, stats.expon(scale=m), 1))
    out = []
    for name, params, law, npar in cands:
        ll = float(np.sum(law.logpdf(x)))
        ks = float(stats.kstest(x, law.cdf).statistic)
        out.append(DistFit(name, params, ll, 2 * npar - 2 * ll, ks))
    return sorted(out, key=lambda f: f.aic)


def num(x: float, digits: int = 4) -> str:
    """A number for TOML: ``digits`` significant figures, integers as integers."""
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e12:
        return str(int(x))
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        if "." not in mant:
            mant += ".0"
        return f"{mant}e{int(exp)}"
    return s
