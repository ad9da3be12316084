"""Demand from an hourly usage series: regression on log demand with Newey–West errors,
the exact inversion of a log-space harmonic to capsim's ``1 + a cos`` amplitude, and
the replay verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError
from sim.fit.laws import SHORT_DAYS, Z95, Estimate, FloatArray, Profile, first_harmonic
from sim.history import UsageSeries

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
    amp, peak = first_harmonic(prof, cycle, width)
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


def _design(t: FloatArray, tref: float, w0: int, span_days: float) -> FloatArray:
    """Columns of the regression on log demand: level, trend (per year from ``tref``), the
    daily first harmonic, and the weekly one when the series spans two weeks."""
    day = 2 * np.pi * (t % 24) / 24
    week = 2 * np.pi * ((t + 24 * w0) % 168) / 168
    cols = [np.ones_like(t), (t - tref) / HOURS_PER_YEAR, np.cos(day), np.sin(day)]
    if span_days >= 14:
        cols += [np.cos(week), np.sin(week)]
    return np.column_stack(cols)


def _amplitude(beta: np.ndarray, cov: FloatArray, i: int) -> tuple[Estimate, float]:
    """The harmonic at columns i, i+1 as capsim's amplitude (with its interval, by the delta
    method on the magnitude) and its peak as a fraction of the period."""
    c, s = float(beta[i]), float(beta[i + 1])
    mag = math.hypot(c, s)
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


def _replay_check(
    y: FloatArray, fitted: FloatArray, trend: FloatArray, sigma2: float, seed: int
) -> tuple[FloatArray, FloatArray, float, float]:
    """Goodness of fit on what sizing sees, the distribution of hourly demand: the recording
    and one draw of the model, both detrended; their KS distance and ratio of 99th
    percentiles."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    noise = np.exp(rng.normal(-sigma2 / 2, math.sqrt(sigma2), size=len(y)))
    model = fitted * noise / trend
    rec = y / trend
    ks = float(stats.ks_2samp(rec, model).statistic)
    p99 = float(np.quantile(model, 0.99) / max(np.quantile(rec, 0.99), 1e-12))
    return rec, model, ks, p99


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
    X = _design(t, tref, w0, span_days)
    beta, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ beta
    cov = _hac_cov(X, resid)
    g_b, g_se = float(beta[1]), math.sqrt(max(cov[1, 1], 0.0))
    growth = Estimate(
        math.exp(g_b) - 1, math.exp(g_b - Z95 * g_se) - 1, math.exp(g_b + Z95 * g_se) - 1
    )
    j = 2  # the first harmonic's columns (the trend is always fitted: a drift is not noise)

    a_d, peak_d = _amplitude(beta, cov, j)
    if X.shape[1] > j + 2:
        a_w, peak_w = _amplitude(beta, cov, j + 2)
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
    rec, model, ks, p99 = _replay_check(y, fitted, trend, sigma2, seed)
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
