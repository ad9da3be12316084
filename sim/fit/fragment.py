"""A fit as text: scenario TOML fragments with a comment per value (method, interval,
verdict), and the rows of the fit table the terminal and the report show."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from sim import __version__
from sim.calendar import HOURS_PER_YEAR
from sim.fit.demand import DemandFit
from sim.fit.jobs import JobsFit
from sim.fit.laws import SHORT_DAYS, Z95, Estimate, Profile, num

"""Fewest jobs a workload needs to be fitted."""
"""A history shorter than this does not give a yearly growth a planner should use."""
"""A daily or weekly profile counts as present when its χ² p-value is below this."""


# --------------------------------------------------------------------------- TOML


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


def _growth_lines(f: JobsFit, span: str, uncertain: bool) -> list[str]:
    """growth_per_year with its comment: the fit, or 0 when the log is too short."""
    g = f.growth
    lines: list[str] = []
    if f.growth_usable:
        if uncertain:  # the delta method: sd of 1 + g = (1 + g) × 8760 × sd of b
            sd = (1.0 + g.value) * HOURS_PER_YEAR * math.sqrt(max(float(f.rate.cov[1, 1]), 0.0))
            lines.append(
                f'growth_per_year = {{ dist = "normal", mean = {num(g.value)}, sd = {num(sd, 3)} }}'
            )
        else:
            lines.append(f"growth_per_year = {num(g.value)}")
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
    return lines


def _uncertain_rate_lines(f: JobsFit) -> list[str]:
    """arrivals_per_day as a lognormal law, quoted where its estimate is uncorrelated with
    the growth's (``rate_at_years``): the two laws are drawn independently, so quoting the
    rate at the scenario's start would lose their correlation (0.84 on a two-year log) and
    understate the spread of a rate years ahead."""
    r, rate = f.arrivals_per_day, f.rate
    if not f.growth_usable or rate.cov[1, 1] <= 0:
        sig = (math.log(r.high) - math.log(r.low)) / (2 * Z95)
        return [
            f'arrivals_per_day = {{ dist = "lognormal", median = {num(r.value)}, '
            f"sigma = {num(sig, 3)} }}"
        ]
    # the log-rate a + b (t − t0) and b are uncorrelated at t* = t0 − cov(a, b) / var(b)
    at = rate.t0 - rate.cov[0, 1] / rate.cov[1, 1]
    sig = math.sqrt(max(rate.cov[0, 0] - rate.cov[0, 1] ** 2 / rate.cov[1, 1], 0.0))
    quoted = rate.rate_per_day(at).value
    years = (at - f.at_hours) / HOURS_PER_YEAR
    return [
        f'arrivals_per_day = {{ dist = "lognormal", median = {num(quoted)}, '
        f"sigma = {num(sig, 3)} }}",
        f"rate_at_years = {num(years, 6)}",
        "# the rate where the log's estimate of it is uncorrelated with the growth's (the "
        "log's centre of mass), so the two laws may be drawn independently",
    ]


def _profile_lines(f: JobsFit) -> list[str]:
    """daily_amplitude and weekly_amplitude, where the profile is present, with comments."""
    lines: list[str] = []
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
            lines.append(f"{prof.period}_amplitude = {num(min(prof.amplitude, 1.0), 3)}")
            lines.append(
                f"# arrivals vary over the {'day' if prof.period == 'daily' else 'week'}: "
                f"first harmonic of arrivals against the fitted intensity, {where} "
                f"({model}); chi2 p = {prof.p_value:.2g}"
            )
    return lines


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
        best = f.duration_fits[0]
        others = ", ".join(f"{d.dist} {d.aic - best.aic:+.1f}" for d in f.duration_fits[1:])
        lines.append(f"[workloads.{_key(f.workload)}]")
        lines.append('kind = "jobs"')
        lines.append(f'pool = "{pool}"' + "  # the pool these jobs run on: check the name")
        span = f"{f.span_days:.0f} days"
        if uncertain:
            lines += _uncertain_rate_lines(f)
        else:
            lines.append(f"arrivals_per_day = {num(r.value)}")
        lines.append(
            f"# maximum likelihood, Poisson with log-linear intensity over {f.n} jobs in {span}; "
            f"quoted at {at_label}; {_ci(r)}"
        )
        lines += _growth_lines(f, span, uncertain)
        lines += _profile_lines(f)
        values = ", ".join(num(s) for s in f.sizes)
        weights = ", ".join(num(w, 4) for w in f.size_weights)
        lines.append(f'units = {{ dist = "choice", values = [{values}], weights = [{weights}] }}')
        lines.append(f"# the observed frequency of each size ({len(f.sizes)} sizes)")
        lines.append(f"duration_hours = {best.toml()}")
        if best.dist == "fixed":
            lines.append(
                f"# every job of the log ran {num(best.params['value'])} h: a fixed duration "
                "(no spread to fit a law to)"
            )
        else:
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
        f"demand_units = {num(fit.level.value)}",
        f"# mean level, {where}; {_ci(fit.level)}",
    ]
    if fit.growth_usable:
        growth = [
            f"growth_per_year = {num(fit.growth.value)}",
            f"# log-linear trend with Newey-West errors; {_ci_pct(fit.growth)}",
        ]
    else:
        growth = [
            "growth_per_year = 0.0",
            f"# the series spans {fit.span_days:.0f} days, too short for a yearly growth: set "
            f"your own (its trend gives {_pct(fit.growth.value)}, {_ci_pct(fit.growth)})",
        ]
    shape = [
        f"daily_amplitude = {num(min(fit.daily_amplitude.value, 1.0), 3)}",
        f"# first harmonic of log demand; peak near {fit.daily_peak_hour:04.1f} h "
        f"(capsim puts it at 14 h); {_ci(fit.daily_amplitude, '{:.3f}')}",
        f"weekly_amplitude = {num(min(fit.weekly_amplitude.value, 1.0), 3)}",
        f"# peak near {weekday_name(fit.weekly_peak_day)} (capsim: 2.5 days after the "
        f"scenario's start); {_ci(fit.weekly_amplitude, '{:.3f}')}",
        f"noise_cv = {num(fit.noise_cv, 3)}",
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
