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

Modules: ``laws`` (estimates, profiles, duration laws), ``jobs``, ``demand`` and
``fragment`` (TOML and table rows).
"""

from __future__ import annotations

from sim.fit.demand import DemandFit, amplitude_from_log, fit_demand
from sim.fit.fragment import (
    FIT_COLUMNS,
    Row,
    demand_fragment,
    demand_rows,
    jobs_fragment,
    jobs_rows,
    weekday_name,
)
from sim.fit.jobs import (
    JobsFit,
    RateFit,
    YearCounts,
    arrival_profile,
    fit_jobs,
    fit_rate,
    year_counts,
)
from sim.fit.laws import (
    MIN_JOBS,
    PROFILE_P,
    SHORT_DAYS,
    Z95,
    DistFit,
    Estimate,
    FloatArray,
    Profile,
    fit_positive,
)

__all__ = [
    "FIT_COLUMNS",
    "MIN_JOBS",
    "PROFILE_P",
    "SHORT_DAYS",
    "Z95",
    "DemandFit",
    "DistFit",
    "Estimate",
    "FloatArray",
    "JobsFit",
    "Profile",
    "RateFit",
    "Row",
    "YearCounts",
    "amplitude_from_log",
    "arrival_profile",
    "demand_fragment",
    "demand_rows",
    "fit_demand",
    "fit_jobs",
    "fit_positive",
    "fit_rate",
    "jobs_fragment",
    "jobs_rows",
    "weekday_name",
    "year_counts",
]
