"""Jobs from a log: a log-linear Poisson intensity by maximum likelihood, the per-year
growth test, daily and weekly profiles (χ²), sizes and durations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError
from sim.fit.laws import (
    MIN_JOBS,
    SHORT_DAYS,
    Z95,
    DistFit,
    Estimate,
    FloatArray,
    Profile,
    first_harmonic,
    fit_positive,
)
from sim.history import JobLog

# --------------------------------------------------------------------------- arrivals


@dataclass(frozen=True)
class RateFit:
    """A Poisson process with intensity ``exp(a + b (t − t0))`` per hour on [t0, t1]."""

    n: int
    t0: float
    t1: float
    a: float
    b: float
    cov: FloatArray = field(repr=False)
    """Covariance of (a, b) from the Fisher information."""

    def intensity(self, t: FloatArray) -> FloatArray:
        """Fitted arrivals per hour at hours ``t``."""
        out: FloatArray = np.exp(self.a + self.b * (np.asarray(t, dtype=float) - self.t0))
        return out

    def expected(self, lo: float, hi: float) -> float:
        """Fitted expected arrivals on [lo, hi]."""
        lo, hi = max(lo, self.t0), min(hi, self.t1)
        if hi <= lo:
            return 0.0
        x0, x1 = lo - self.t0, hi - self.t0
        if abs(self.b) * (x1 - x0) < 1e-9:
            return math.exp(self.a + self.b * x0) * (x1 - x0)
        return math.exp(self.a) * (math.exp(self.b * x1) - math.exp(self.b * x0)) / self.b

    def rate_per_day(self, at: float) -> Estimate:
        """Arrivals per day at hour ``at`` (extrapolated outside the log), with its 95 % CI."""
        g = np.array([1.0, at - self.t0])
        m = self.a + self.b * (at - self.t0)
        se = math.sqrt(max(float(g @ self.cov @ g), 0.0))
        return Estimate(24 * math.exp(m), 24 * math.exp(m - Z95 * se), 24 * math.exp(m + Z95 * se))

    def growth(self) -> Estimate:
        """Growth per contract year, ``exp(8760 b) − 1``, with its 95 % CI."""
        se = math.sqrt(max(float(self.cov[1, 1]), 0.0))
        return Estimate(
            math.expm1(HOURS_PER_YEAR * self.b),
            math.expm1(HOURS_PER_YEAR * (self.b - Z95 * se)),
            math.expm1(HOURS_PER_YEAR * (self.b + Z95 * se)),
        )


def fit_rate(times: FloatArray, t0: float | None = None, t1: float | None = None) -> RateFit:
    """Maximum-likelihood log-linear Poisson intensity of event ``times`` on [t0, t1]
    (default: first to last event).

    With ``T = t1 − t0`` and ``x = t − t0``, the likelihood in ``a`` is maximal at
    ``e^a = n b / (e^{bT} − 1)``; ``b`` solves ``mean(x) = T e^{bT}/(e^{bT} − 1) − 1/b``,
    the mean of an exponential law truncated to [0, T], which is increasing in ``b``.
    """
    x = np.sort(np.asarray(times, dtype=float))
    t0 = float(x[0]) if t0 is None else t0
    t1 = float(x[-1]) if t1 is None else t1
    T = t1 - t0
    n = len(x)
    if n < 2 or T <= 0:
        raise ValueError("need at least two distinct arrival times")
    xbar = float(np.mean(x - t0)) / T  # in units of T: the mean of the truncated law on [0,1]

    def mean_on_unit(c: float) -> float:  # c = b T
        if abs(c) < 1e-6:
            return 0.5 + c / 12
        return 1 / -math.expm1(-c) - 1 / c

    c_hat = 0.0
    if not 1e-9 < xbar < 1 - 1e-9:
        raise ValueError("arrival times are degenerate")
    lo, hi = -1.0, 1.0
    while mean_on_unit(lo) > xbar:
        lo *= 2
    while mean_on_unit(hi) < xbar:
        hi *= 2
    c_hat = optimize.brentq(lambda c: mean_on_unit(c) - xbar, lo, hi, xtol=1e-12)
    b = c_hat / T
    a = math.log(n / T) if abs(c_hat) < 1e-9 else math.log(n * b / math.expm1(c_hat))
    # Fisher information: the moments of the fitted intensity over [0, T]
    nodes, weights = np.polynomial.legendre.leggauss(64)
    xs = 0.5 * T * (nodes + 1)
    w = 0.5 * T * weights * np.exp(a + b * xs)
    info = np.array([[w.sum(), (w * xs).sum()], [(w * xs).sum(), (w * xs * xs).sum()]])
    cov = np.linalg.inv(info)
    return RateFit(n=n, t0=t0, t1=t1, a=a, b=b, cov=cov)


@dataclass(frozen=True)
class YearCounts:
    """Arrivals per whole log year, against the single-growth fit."""

    observed: list[int]
    expected: list[float]
    growth: list[Estimate]
    """Each year over the one before (Poisson CI on the log of the ratio)."""
    chi2: float
    p_value: float


def year_counts(rate: RateFit, times: FloatArray) -> YearCounts | None:
    """Counts per whole log year and a χ² test of the single growth (None under 2 years)."""
    k = int((rate.t1 - rate.t0) // HOURS_PER_YEAR)
    if k < 2:
        return None
    edges = rate.t0 + np.arange(k + 1) * HOURS_PER_YEAR
    obs = np.histogram(times, bins=edges)[0]
    exp = np.array([rate.expected(edges[i], edges[i + 1]) for i in range(k)])
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    dof = max(k - 2, 1)  # a and b were fitted
    growth = []
    for i in range(1, k):
        o0, o1 = max(obs[i - 1], 1), max(obs[i], 1)
        r = math.log(o1 / o0)
        se = math.sqrt(1 / o0 + 1 / o1)
        growth.append(Estimate(math.expm1(r), math.expm1(r - Z95 * se), math.expm1(r + Z95 * se)))
    return YearCounts(
        observed=[int(v) for v in obs],
        expected=[float(v) for v in exp],
        growth=growth,
        chi2=chi2,
        p_value=float(stats.chi2.sf(chi2, dof)) if k > 2 else float("nan"),
    )


def arrival_profile(rate: RateFit, times: FloatArray, weekday0: int, period: str) -> Profile:
    """χ² of arrivals by hour of day (``daily``) or day of week (``weekly``) against the
    fitted intensity's exposure over the same bins."""
    bins, width = (24, 1.0) if period == "daily" else (7, 24.0)
    cycle = bins * width
    offset = 0.0 if period == "daily" else weekday0 * 24.0
    grid = np.arange(math.floor(rate.t0), math.ceil(rate.t1), 0.25) + 0.125
    grid = grid[(grid >= rate.t0) & (grid <= rate.t1)]
    which = (((grid + offset) % cycle) // width).astype(int)
    exp = np.bincount(which, weights=rate.intensity(grid) * 0.25, minlength=bins)
    exp *= rate.n / exp.sum()
    obs = np.bincount((((times + offset) % cycle) // width).astype(int), minlength=bins)
    ok = exp > 0
    chi2 = float(((obs[ok] - exp[ok]) ** 2 / exp[ok]).sum())
    p = float(stats.chi2.sf(chi2, int(ok.sum()) - 1))
    rel = np.where(ok, obs / np.where(ok, exp, 1.0), 1.0)
    amp, peak = first_harmonic(rel, cycle, width)
    return Profile(
        period, [float(v) for v in rel], amp, peak / (1 if period == "daily" else 24), chi2, p
    )


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class JobsFit:
    """Everything fitted for one workload of a job log."""

    workload: str
    n: int
    times: FloatArray = field(repr=False)
    rate: RateFit
    at_hours: float
    """Where ``arrivals_per_day`` is quoted (the scenario's hour 0)."""
    arrivals_per_day: Estimate
    growth: Estimate
    years: YearCounts | None
    daily: Profile
    weekly: Profile
    sizes: list[float]
    size_weights: list[float]
    durations: FloatArray = field(repr=False)
    duration_fits: list[DistFit]
    waits: FloatArray | None = field(repr=False)

    @property
    def span_days(self) -> float:
        return (self.rate.t1 - self.rate.t0) / 24

    @property
    def growth_usable(self) -> bool:
        return self.span_days >= SHORT_DAYS


def fit_jobs(log: JobLog, at_hours: float | None = None) -> list[JobsFit]:
    """Fit every workload of a job log; ``arrivals_per_day`` is quoted at ``at_hours``
    (default: the log's last submit)."""
    if len(log.submit_hours) == 0:
        raise ScenarioError(
            log.file,
            "",
            f"no job ran for any time ({log.zero_duration} jobs with zero duration): nothing "
            "to fit",
        )
    fits = []
    for name in dict.fromkeys(log.workload.tolist()):
        sel = log.workload == name
        t = np.sort(log.submit_hours[sel])
        if len(t) < MIN_JOBS or t[-1] - t[0] <= 0:
            raise ScenarioError(
                log.file,
                f"workload {name!r}",
                f"has {len(t)} jobs with a duration over "
                f"{(t[-1] - t[0]) / 24 if len(t) else 0:.3g} days; fitting needs at least "
                f"{MIN_JOBS} jobs spread over time",
            )
        rate = fit_rate(t)
        at = rate.t1 if at_hours is None else at_hours
        if rate.t1 - rate.t0 < SHORT_DAYS * 24:  # no usable growth: quote the mean rate
            flat = RateFit(
                rate.n,
                rate.t0,
                rate.t1,
                math.log(rate.n / (rate.t1 - rate.t0)),
                0.0,
                np.array([[1 / rate.n, 0.0], [0.0, 0.0]]),
            )
            per_day = flat.rate_per_day(at)
        else:
            per_day = rate.rate_per_day(at)
        sizes, counts = np.unique(log.units[sel], return_counts=True)
        d = log.duration_hours[sel]
        fits.append(
            JobsFit(
                workload=str(name),
                n=len(t),
                times=t,
                rate=rate,
                at_hours=at,
                arrivals_per_day=per_day,
                growth=rate.growth(),
                years=year_counts(rate, t),
                daily=arrival_profile(rate, t, 0, "daily"),
                weekly=arrival_profile(
                    rate, t, log.origin.weekday() if log.origin is not None else 0, "weekly"
                ),
                sizes=[float(s) for s in sizes],
                size_weights=[float(c) / len(t) for c in counts],
                durations=d,
                duration_fits=fit_positive(d),
                waits=None if log.wait_hours is None else log.wait_hours[sel],
            )
        )
    return fits
