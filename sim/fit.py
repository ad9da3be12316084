"""``capsim fit``: turn history into workloads, with how well each piece fits.

Pure estimation (no files, no printing): :func:`fit_jobs` takes a :class:`JobLog`,
:func:`fit_demand` a :class:`UsageSeries`; :func:`jobs_fragment` and
:func:`demand_fragment` render the result as scenario TOML with a comment per value.

Jobs
    Arrivals are a Poisson process with a log-linear intensity ``λ(t) = exp(a + b t)``,
    fitted by maximum likelihood over the log's span (first to last submit); ``b`` gives
    the yearly growth ``exp(8760 b) − 1``, and the Fisher information the 95 % intervals
    of both (delta method). When the log spans two or more years, the counts per log year
    are tested against that single growth (Pearson χ²) and the growth of each year is
    reported. Daily and weekly arrival profiles are tested the same way (χ² of counts by
    hour of day and day of week against the fitted intensity). Sizes are ``choice`` over
    the observed sizes with their frequencies; durations the best of lognormal, gamma and
    exponential by AIC, with the Kolmogorov–Smirnov distance of each.
Demand
    ``log D(t) = β0 + β1 t/8760 + daily and weekly first harmonics + ε``, by least squares
    with Newey–West (HAC) standard errors, because hourly residuals are autocorrelated.
    A harmonic of amplitude ``c`` in log space is exactly ``log(1 + a cos)`` with
    ``a = 4r / (2(1 + r²))``, ``r = c/2`` (the Fourier series of ``log(1 + a cos x)``), so
    the amplitudes are capsim's own. The residual's variance gives ``noise_cv``. Whether the
    synthetic model or replaying the recording fits better is judged on what sizing depends
    on: the distribution of hourly demand (two-sample KS distance between the recording and
    the fitted model, both detrended) and its 99th percentile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from sim import __version__
from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError
from sim.history import JobLog, UsageSeries

FloatArray = NDArray[np.float64]

Z95 = 1.959963984540054
MIN_JOBS = 20
"""Fewest jobs a workload needs to be fitted."""
SHORT_DAYS = 180.0
"""A history shorter than this does not give a yearly growth a planner should use."""
PROFILE_P = 0.01
"""A daily or weekly profile counts as present when its χ² p-value is below this."""


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


def _first_harmonic(rel: FloatArray, period: float, width: float) -> tuple[float, float]:
    """Amplitude and peak (in the bin's unit, from bin centres) of a relative profile."""
    centres = (np.arange(len(rel)) + 0.5) * width
    z = np.mean((rel - rel.mean()) * np.exp(-2j * np.pi * centres / period))
    amp = 2 * abs(z) / max(rel.mean(), 1e-12)
    peak = (-np.angle(z) / (2 * np.pi) * period) % period
    return float(amp), float(peak)


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
    amp, peak = _first_harmonic(rel, cycle, width)
    return Profile(
        period, [float(v) for v in rel], amp, peak / (1 if period == "daily" else 24), chi2, p
    )


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
        if self.dist == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=p["median"])
        if self.dist == "gamma":
            k = 1 / p["cv"] ** 2
            return stats.gamma(a=k, scale=p["mean"] / k)
        return stats.expon(scale=p["mean"])

    def toml(self) -> str:
        inner = ", ".join(f"{k} = {_num(v)}" for k, v in self.params.items())
        return f'{{ dist = "{self.dist}", {inner} }}'


def fit_positive(x: FloatArray) -> list[DistFit]:
    """Lognormal, gamma and exponential fitted by maximum likelihood to positive data,
    best (lowest AIC) first."""
    x = np.asarray(x, dtype=float)
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


# --------------------------------------------------------------------------- demand


def _hac_cov(X: FloatArray, resid: FloatArray) -> FloatArray:
    """Newey–West covariance of least-squares coefficients (Bartlett kernel)."""
    n = len(resid)
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    u = X * resid[:, None]
    s = u.T @ u
    for lag in range(1, lags + 1):
        w = 1 - lag / (lags + 1)
        g = u[lag:].T @ u[:-lag]
        s += w * (g + g.T)
    bread = np.linalg.inv(X.T @ X)
    out: FloatArray = bread @ s @ bread
    return out


def amplitude_from_log(c: float) -> float:
    """capsim's amplitude ``a`` of ``1 + a cos x`` whose logarithm has first harmonic
    amplitude ``c``: ``log(1 + a cos x) = const + 2 Σ (−1)^{k+1} r^k/k cos kx`` with
    ``r = (1 − √(1 − a²))/a``, so ``r = c/2`` and ``a = 2r/(1 + r²)``."""
    r = min(abs(c) / 2, 0.999)
    return 2 * r / (1 + r * r)


def _log_mean_of_cycle(a: float) -> float:
    """Mean of ``log(1 + a cos x)`` over a period."""
    return math.log((1 + math.sqrt(max(1 - a * a, 0.0))) / 2)


@dataclass(frozen=True)
class DemandFit:
    """The synthetic demand model fitted to an hourly series."""

    hours: FloatArray = field(repr=False)
    values: FloatArray = field(repr=False)
    weekday0: int
    at_hours: float
    level: Estimate
    """``demand_units`` at ``at_hours`` (the mean level, profile and noise averaged out)."""
    growth: Estimate
    growth_usable: bool
    daily_amplitude: Estimate
    daily_peak_hour: float
    weekly_amplitude: Estimate
    weekly_peak_day: float
    """Day of week of the weekly peak, 0 = Monday 00:00."""
    noise_cv: float
    r2: float
    lag1: float
    """Lag-1 autocorrelation of the residuals (the model's noise is independent per hour)."""
    nonpositive: int
    """Hours at zero, left out of the regression (outages, gaps)."""
    ks: float
    """KS distance between the detrended recording and the fitted model's hours."""
    p99_ratio: float
    """The fitted model's 99th percentile of hourly demand over the recording's."""
    fitted: FloatArray = field(repr=False)
    """The fitted noise-free path, per hour of the recording."""
    recorded_detrended: FloatArray = field(repr=False)
    """The recording with the fitted trend taken out."""
    model_detrended: FloatArray = field(repr=False)
    """One draw of the fitted model over the same hours, trend taken out."""
    daily_profile: Profile
    weekly_profile: Profile

    @property
    def replay_better(self) -> bool:
        return self.ks >= 0.1 or abs(self.p99_ratio - 1) >= 0.05

    @property
    def span_days(self) -> float:
        return len(self.values) / 24


def _demand_profile(hours: FloatArray, rel: FloatArray, weekday0: int, period: str) -> Profile:
    bins, width = (24, 1.0) if period == "daily" else (7, 24.0)
    cycle = bins * width
    offset = 0.0 if period == "daily" else weekday0 * 24.0
    ok = np.isfinite(rel)
    hours, rel = hours[ok], rel[ok]
    which = (((hours + offset) % cycle) // width).astype(int)
    sums = np.bincount(which, weights=rel, minlength=bins)
    counts = np.bincount(which, minlength=bins)
    prof = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    amp, peak = _first_harmonic(prof, cycle, width)
    # one-way ANOVA of the relative level across bins: is the profile real?
    groups = [rel[which == i] for i in range(bins) if counts[i] > 1]
    f, p = stats.f_oneway(*groups) if len(groups) > 1 else (0.0, 1.0)
    return Profile(
        period,
        [float(v) for v in prof],
        amp,
        peak / (1 if period == "daily" else 24),
        float(f),
        float(p),
    )


def fit_demand(series: UsageSeries, at_hours: float | None = None, seed: int = 0) -> DemandFit:
    """Fit level, growth, daily and weekly amplitudes and noise to an hourly series;
    ``demand_units`` is quoted at ``at_hours`` (default: the series' last hour)."""
    y = series.values
    h = series.hours()
    w0 = series.weekday0()
    pos = y > 0
    if pos.sum() < 48:
        raise ScenarioError(
            series.file,
            f"column {series.column!r}",
            f"has {int(pos.sum())} hours with demand above zero; fitting needs at least 48",
        )
    t, ly = h[pos], np.log(y[pos])
    at = float(h[-1]) if at_hours is None else at_hours
    span_days = len(y) / 24
    usable = span_days >= SHORT_DAYS
    tref = float(t.mean())
    day = 2 * np.pi * (t % 24) / 24
    week = 2 * np.pi * ((t + 24 * w0) % 168) / 168

    def design(with_trend: bool) -> FloatArray:
        cols = [np.ones_like(t)]
        if with_trend:
            cols.append((t - tref) / HOURS_PER_YEAR)
        cols += [np.cos(day), np.sin(day)]
        if span_days >= 14:
            cols += [np.cos(week), np.sin(week)]
        return np.column_stack(cols)

    X = design(True)
    beta, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ beta
    cov = _hac_cov(X, resid)
    g_b, g_se = float(beta[1]), math.sqrt(max(cov[1, 1], 0.0))
    growth = Estimate(
        math.exp(g_b) - 1, math.exp(g_b - Z95 * g_se) - 1, math.exp(g_b + Z95 * g_se) - 1
    )
    j = 2  # the first harmonic's columns (the trend is always fitted: a drift is not noise)

    def amp(i: int) -> tuple[Estimate, float]:
        c, s = float(beta[i]), float(beta[i + 1])
        mag = math.hypot(c, s)
        # delta method on the magnitude
        grad = np.array([c, s]) / max(mag, 1e-12)
        se = math.sqrt(max(float(grad @ cov[i : i + 2, i : i + 2] @ grad), 0.0))
        peak = math.atan2(s, c) / (2 * math.pi)
        return (
            Estimate(
                amplitude_from_log(mag),
                amplitude_from_log(max(mag - Z95 * se, 0.0)),
                amplitude_from_log(mag + Z95 * se),
            ),
            peak % 1.0,
        )

    a_d, peak_d = amp(j)
    if X.shape[1] > j + 2:
        a_w, peak_w = amp(j + 2)
    else:
        a_w, peak_w = Estimate(0.0, 0.0, 0.0), 0.0
    sigma2 = float(resid.var())
    cv = math.sqrt(math.expm1(sigma2))
    # the mean level at `at`: undo the log-means of the cycles and of the lognormal noise
    # a short history's trend is not extrapolated: its level is the recording's mean level
    x_at = (at - tref) / HOURS_PER_YEAR if usable else 0.0
    lead = np.zeros(X.shape[1])
    lead[0] = 1.0
    lead[1] = x_at
    m = (
        float(lead @ beta)
        - _log_mean_of_cycle(a_d.value)
        - _log_mean_of_cycle(a_w.value)
        + sigma2 / 2
    )
    se = math.sqrt(max(float(lead @ cov @ lead), 0.0))
    level = Estimate(math.exp(m), math.exp(m - Z95 * se), math.exp(m + Z95 * se))
    # the fitted noise-free path over the recording (capsim's multiplicative form)
    d0 = math.exp(
        float(beta[0]) - _log_mean_of_cycle(a_d.value) - _log_mean_of_cycle(a_w.value) + sigma2 / 2
    )  # the mean level at the reference hour
    trend = np.exp(beta[1] * (h - tref) / HOURS_PER_YEAR)
    cyc_d = 1 + a_d.value * np.cos(2 * np.pi * ((h % 24) / 24 - peak_d))
    cyc_w = 1 + a_w.value * np.cos(2 * np.pi * (((h + 24 * w0) % 168) / 168 - peak_w))
    fitted = d0 * trend * cyc_d * cyc_w
    # goodness of fit on what sizing sees: the distribution of hourly demand
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    noise = np.exp(rng.normal(-sigma2 / 2, math.sqrt(sigma2), size=len(h)))
    model = fitted * noise / trend
    rec = y / trend
    ks = float(stats.ks_2samp(rec, model).statistic)
    p99 = float(np.quantile(model, 0.99) / max(np.quantile(rec, 0.99), 1e-12))
    ss_tot = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    lag1 = float(np.corrcoef(resid[1:], resid[:-1])[0, 1]) if len(resid) > 2 else 0.0
    rel = np.where(y > 0, y / (d0 * trend), np.nan)  # outage hours are left out, as above
    return DemandFit(
        hours=h,
        values=y,
        weekday0=w0,
        at_hours=at,
        level=level,
        growth=growth,
        growth_usable=usable,
        daily_amplitude=a_d,
        daily_peak_hour=peak_d * 24,
        weekly_amplitude=a_w,
        weekly_peak_day=peak_w * 7,
        noise_cv=cv,
        r2=r2,
        lag1=lag1,
        nonpositive=int((~pos).sum()),
        ks=ks,
        p99_ratio=p99,
        fitted=fitted,
        recorded_detrended=rec,
        model_detrended=model,
        daily_profile=_demand_profile(h, rel, w0, "daily"),
        weekly_profile=_demand_profile(h, rel, w0, "weekly"),
    )


# --------------------------------------------------------------------------- TOML


def _num(x: float, digits: int = 4) -> str:
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


def _key(name: str) -> str:
    bare = all(c.isalnum() or c in "-_" for c in name) and name.isascii()
    return name if bare else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pct(x: float) -> str:
    return f"{100 * x:+.1f} %"


def _ci(e: Estimate, f: str = "{:.4g}") -> str:
    return f"95 % CI {f.format(e.low)} to {f.format(e.high)}"


def _ci_pct(e: Estimate) -> str:
    return f"95 % CI {_pct(e.low)} to {_pct(e.high)}"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_name(day: float) -> str:
    """The day of a weekly peak, e.g. ``Wednesday 13:00``."""
    d = int(day) % 7
    return f"{_DAYS[d]} {int((day - int(day)) * 24):02d}:00"


def _header(source: str, what: str, made: datetime | None) -> list[str]:
    stamp = f" on {made:%Y-%m-%d}" if made is not None else ""
    return [
        f"# Fitted by capsim {__version__} from {source}{stamp}: {what}.",
        "# Merge it over a scenario (capsim validate THIS.toml --base SCENARIO.toml; capsim stress",
        "# SCENARIO.toml THIS.toml runs it as a case), or paste the tables into a scenario.",
        "# Every value says how it was estimated; check the fit report before you rely on it.",
    ]


def jobs_fragment(
    fits: list[JobsFit],
    source: str,
    pool: str,
    at_label: str,
    name: str,
    made: datetime | None = None,
    uncertain: bool = False,
) -> str:
    """Scenario TOML with one ``kind = "jobs"`` workload per fitted workload."""
    lines = _header(source, f"{sum(f.n for f in fits)} jobs in {len(fits)} workload(s)", made)
    lines += ["", "[scenario]", f'name = "{name}"', ""]
    for f in fits:
        r = f.arrivals_per_day
        g = f.growth
        best = f.duration_fits[0]
        others = ", ".join(f"{d.dist} {d.aic - best.aic:+.1f}" for d in f.duration_fits[1:])
        lines.append(f"[workloads.{_key(f.workload)}]")
        lines.append('kind = "jobs"')
        lines.append(f'pool = "{pool}"' + "  # the pool these jobs run on: check the name")
        span = f"{f.span_days:.0f} days"
        if uncertain:
            sig = (math.log(r.high) - math.log(r.low)) / (2 * Z95)
            lines.append(
                f'arrivals_per_day = {{ dist = "lognormal", median = {_num(r.value)}, '
                f"sigma = {_num(sig, 3)} }}"
            )
        else:
            lines.append(f"arrivals_per_day = {_num(r.value)}")
        lines.append(
            f"# maximum likelihood, Poisson with log-linear intensity over {f.n} jobs in {span}; "
            f"quoted at {at_label}; {_ci(r)}"
        )
        if f.growth_usable:
            if uncertain:
                sd = (g.high - g.low) / (2 * Z95)
                lines.append(
                    f'growth_per_year = {{ dist = "normal", mean = {_num(g.value)}, '
                    f"sd = {_num(sd, 3)} }}"
                )
            else:
                lines.append(f"growth_per_year = {_num(g.value)}")
            lines.append(f"# the same fit: the rate grows {_pct(g.value)} a year; {_ci_pct(g)}")
            if f.years is not None and math.isfinite(f.years.p_value):
                per = ", ".join(_pct(e.value) for e in f.years.growth)
                lines.append(
                    f"# year over year in the log: {per}; one growth for all years: "
                    f"chi2 p = {f.years.p_value:.3g}"
                    + (
                        " (the growth changed: choose the future's yourself)"
                        if f.years.p_value < 0.01
                        else ""
                    )
                )
        else:
            lines.append("growth_per_year = 0.0")
            lines.append(
                f"# the log spans {span}, too short for a yearly growth: set your own "
                f"(the fit gives {_pct(g.value)}, {_ci_pct(g)})"
            )
        for prof in (f.daily, f.weekly):
            if prof.present:
                where, model = (
                    (f"peak near {prof.peak:04.1f} h", "capsim puts it at 14 h")
                    if prof.period == "daily"
                    else (
                        f"peak near {weekday_name(prof.peak)}",
                        "capsim: 2.5 days after the scenario's start",
                    )
                )
                lines.append(f"{prof.period}_amplitude = {_num(min(prof.amplitude, 1.0), 3)}")
                lines.append(
                    f"# arrivals vary over the {'day' if prof.period == 'daily' else 'week'}: "
                    f"first harmonic of arrivals against the fitted intensity, {where} "
                    f"({model}); chi2 p = {prof.p_value:.2g}"
                )
        values = ", ".join(_num(s) for s in f.sizes)
        weights = ", ".join(_num(w, 4) for w in f.size_weights)
        lines.append(f'units = {{ dist = "choice", values = [{values}], weights = [{weights}] }}')
        lines.append(f"# the observed frequency of each size ({len(f.sizes)} sizes)")
        lines.append(f"duration_hours = {best.toml()}")
        lines.append(
            f"# best of lognormal, gamma, exponential by AIC (the others: {others}); "
            f"KS distance {best.ks:.3f}, {best.verdict}"
            + ("; consider replaying the log as a trace" if best.verdict == "poor" else "")
        )
        wait_note = ""
        if f.waits is not None and len(f.waits):
            wait_note = (
                f" (in the log jobs waited: median {np.median(f.waits):.3g} h, "
                f"p95 {np.quantile(f.waits, 0.95):.3g} h)"
            )
        lines.append(
            "# max_wait_hours = 24  # your policy: how long a job queues for reserved "
            f"capacity before it overflows{wait_note}"
        )
        lines.append("")
    return "\n".join(lines)


def demand_fragment(
    fit: DemandFit,
    source: str,
    workload: str,
    pool: str,
    at_label: str,
    name: str,
    replay_file: str,
    column: str,
    made: datetime | None = None,
) -> str:
    """Scenario TOML with one ``kind = "demand"`` workload: synthetic, or a replay of the
    recording when that fits better."""
    lines = _header(source, f"{len(fit.values)} hours of demand", made)
    lines += ["", "[scenario]", f'name = "{name}"', ""]
    lines.append(f"[workloads.{_key(workload)}]")
    lines.append('kind = "demand"')
    lines.append(f'pool = "{pool}"' + "  # the pool this demand runs on: check the name")
    verdict = (
        f"distribution of hourly demand: KS distance {fit.ks:.3f}, "
        f"p99 model/recording {fit.p99_ratio:.3f}"
    )
    where = (
        f"quoted at {at_label}"
        if fit.growth_usable
        else "the recording's mean level (its trend is not extrapolated)"
    )
    synthetic = [
        f"demand_units = {_num(fit.level.value)}",
        f"# mean level, {where}; {_ci(fit.level)}",
    ]
    if fit.growth_usable:
        growth = [
            f"growth_per_year = {_num(fit.growth.value)}",
            f"# log-linear trend with Newey-West errors; {_ci_pct(fit.growth)}",
        ]
    else:
        growth = [
            "growth_per_year = 0.0",
            f"# the series spans {fit.span_days:.0f} days, too short for a yearly growth: set "
            f"your own (its trend gives {_pct(fit.growth.value)}, {_ci_pct(fit.growth)})",
        ]
    shape = [
        f"daily_amplitude = {_num(min(fit.daily_amplitude.value, 1.0), 3)}",
        f"# first harmonic of log demand; peak near {fit.daily_peak_hour:04.1f} h "
        f"(capsim puts it at 14 h); {_ci(fit.daily_amplitude, '{:.3f}')}",
        f"weekly_amplitude = {_num(min(fit.weekly_amplitude.value, 1.0), 3)}",
        f"# peak near {weekday_name(fit.weekly_peak_day)} (capsim: 2.5 days after the "
        f"scenario's start); {_ci(fit.weekly_amplitude, '{:.3f}')}",
        f"noise_cv = {_num(fit.noise_cv, 3)}",
        f"# residual of the fit (R² {fit.r2:.2f}); hour-to-hour the residual has lag-1 "
        f"correlation {fit.lag1:.2f}, capsim's noise has none",
    ]
    if fit.replay_better:
        lines.append(f'file = "{replay_file}"')
        lines.append(f'column = "{column}"')
        lines += growth
        lines.append("noise_cv = 0.0")
        lines.append(
            f"# replaying the recording fits better than the synthetic model ({verdict}); the "
            "recording repeats to fill the horizon, at its own level"
        )
        lines.append("# the synthetic model, for reference:")
        lines += ["# " + s if not s.startswith("#") else s for s in synthetic + shape]
    else:
        lines += synthetic + growth + shape
        lines.append(f"# the synthetic model fits ({verdict})")
    if fit.nonpositive:
        lines.append(f"# {fit.nonpositive} hours at zero (outages?) were left out of the fit")
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- tables

Row = tuple[str, str, str, str, str, str]
"""(workload, quantity, estimate, 95 % CI, test, verdict)"""

FIT_COLUMNS = ("workload", "quantity", "estimate", "95 % CI", "test", "verdict")


def _profile_row(name: str, prof: Profile, what: str) -> Row:
    where = (
        f"peak {prof.peak:04.1f} h" if prof.period == "daily" else f"peak {weekday_name(prof.peak)}"
    )
    test = f"chi2 p={prof.p_value:.2g}" if what == "arrivals" else f"F p={prof.p_value:.2g}"
    return (
        name,
        f"{prof.period} {what} profile",
        f"±{100 * prof.amplitude:.1f} %, {where}",
        "",
        test,
        "present" if prof.present else "none detected",
    )


def jobs_rows(fits: list[JobsFit], at_label: str) -> list[Row]:
    """The fit table of a job log: one row per estimated quantity."""
    rows: list[Row] = []
    for f in fits:
        r, g = f.arrivals_per_day, f.growth
        rows.append(
            (
                f.workload,
                f"arrivals per day at {at_label}",
                f"{r.value:.4g}",
                f"{r.low:.4g} to {r.high:.4g}",
                f"{f.n} jobs, {f.span_days:.0f} days",
                "Poisson MLE",
            )
        )
        yoy = ""
        if f.years is not None and math.isfinite(f.years.p_value):
            yoy = f"one growth for all years: chi2 p={f.years.p_value:.2g}"
        rows.append(
            (
                f.workload,
                "growth per year",
                _pct(g.value),
                f"{_pct(g.low)} to {_pct(g.high)}",
                yoy,
                "used" if f.growth_usable else f"not used (under {SHORT_DAYS:.0f} days)",
            )
        )
        rows.append(_profile_row(f.workload, f.daily, "arrivals"))
        rows.append(_profile_row(f.workload, f.weekly, "arrivals"))
        rows.append(
            (
                f.workload,
                "units",
                f"choice over {len(f.sizes)} sizes",
                "",
                "",
                "the observed shares",
            )
        )
        for i, d in enumerate(f.duration_fits):
            params = ", ".join(f"{k} {v:.4g}" for k, v in d.params.items())
            rows.append(
                (
                    f.workload,
                    "duration_hours" if i == 0 else "  (candidate)",
                    f"{d.dist}: {params}",
                    "",
                    f"KS D={d.ks:.3f}, AIC {d.aic - f.duration_fits[0].aic:+.1f}",
                    (d.verdict + (", chosen" if i == 0 else "")),
                )
            )
    return rows


def demand_rows(fit: DemandFit, workload: str, at_label: str) -> list[Row]:
    """The fit table of a usage series."""
    g = fit.growth
    rows: list[Row] = [
        (
            workload,
            f"demand_units at {at_label}",
            f"{fit.level.value:.4g}",
            f"{fit.level.low:.4g} to {fit.level.high:.4g}",
            f"{len(fit.values)} hours",
            "mean level",
        ),
        (
            workload,
            "growth per year",
            _pct(g.value),
            f"{_pct(g.low)} to {_pct(g.high)}",
            "Newey-West",
            "used" if fit.growth_usable else f"not used (under {SHORT_DAYS:.0f} days)",
        ),
        (
            workload,
            "daily_amplitude",
            f"{fit.daily_amplitude.value:.3f}",
            f"{fit.daily_amplitude.low:.3f} to {fit.daily_amplitude.high:.3f}",
            f"peak {fit.daily_peak_hour:04.1f} h",
            "",
        ),
        (
            workload,
            "weekly_amplitude",
            f"{fit.weekly_amplitude.value:.3f}",
            f"{fit.weekly_amplitude.low:.3f} to {fit.weekly_amplitude.high:.3f}",
            f"peak {weekday_name(fit.weekly_peak_day)}",
            "",
        ),
        _profile_row(workload, fit.daily_profile, "demand"),
        _profile_row(workload, fit.weekly_profile, "demand"),
        (
            workload,
            "noise_cv",
            f"{fit.noise_cv:.3f}",
            "",
            f"R² {fit.r2:.2f}, lag-1 {fit.lag1:.2f}",
            "residual",
        ),
        (
            workload,
            "hourly distribution",
            f"KS D={fit.ks:.3f}",
            "",
            f"p99 ratio {fit.p99_ratio:.3f}",
            "replay fits better" if fit.replay_better else "synthetic fits",
        ),
    ]
    return rows
