"""Reading history for ``capsim fit``: a scheduler's job log and an hourly usage series.

Both are CSV files with a header. Every bad cell is reported like a bad scenario: the
file, the line, the column, the value and what is allowed (:class:`ScenarioError`, exit
status 2 at the command line).

A job log has one row per job: ``submit`` (an ISO 8601 timestamp) or ``submit_hours``
(hours from any origin), ``units``, and ``duration_hours`` or ``start`` and ``end``
(timestamps, or ``start_hours`` and ``end_hours``); optionally a column that splits the
jobs into workloads. A usage series has one row per hour, in order, with the demand in a
numeric column and optionally a timestamp column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sim.errors import ScenarioError, did_you_mean
from sim.scenario import MAX_MAGNITUDE
from sim.scenario.files import header_columns, read_csv, shown
from sim.scenario.values import safe_name

FloatArray = NDArray[np.float64]

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, eq=False)
class JobLog:
    """The jobs of a log, on an hour axis (hour 0 = ``origin``, or the log's own hour 0)."""

    file: str
    submit_hours: FloatArray
    units: FloatArray
    duration_hours: FloatArray
    wait_hours: FloatArray | None
    """start − submit, where the log has start times."""
    workload: NDArray[np.str_]
    origin: datetime | None
    """Calendar time of hour 0 (midnight before the first submit) for timestamp logs."""
    zero_duration: int
    """Jobs left out because they ran for no time (cancelled before they started)."""

    def hour_of_day(self) -> FloatArray:
        """Hour of day of each submit (the log's own clock when it has no timestamps)."""
        out: FloatArray = np.mod(self.submit_hours, 24.0)
        return out

    def day_of_week(self) -> FloatArray:
        """Day of week of each submit, 0 = Monday (timestamp logs) or the log's day 0."""
        first = self.origin.weekday() if self.origin is not None else 0
        out: FloatArray = np.mod(np.floor(self.submit_hours / 24.0) + first, 7.0)
        return out


@dataclass(frozen=True, eq=False)
class UsageSeries:
    """An hourly demand series."""

    file: str
    column: str
    values: FloatArray
    origin: datetime | None
    """Calendar time of the first row, when the file has a timestamp column."""

    def hours(self) -> FloatArray:
        """Each row's hour: from midnight of the first row's day, when timestamps are known."""
        shift = 0.0
        if self.origin is not None:
            midnight = self.origin.replace(hour=0, minute=0, second=0, microsecond=0)
            shift = (self.origin - midnight).total_seconds() / _SECONDS_PER_HOUR
        out: FloatArray = np.arange(len(self.values), dtype=float) + shift
        return out

    def weekday0(self) -> int:
        """Weekday of the series' day 0 (0 = Monday; 0 when there are no timestamps)."""
        return self.origin.weekday() if self.origin is not None else 0


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 timestamp (``2024-03-01 14:00``, ``2024-03-01T14:00:00Z`` ...), or
    ``None`` if the text is not one. A time zone, if given, is kept."""
    s = text.strip()
    if not s:
        return None
    try:
        return datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        return None


def naive_utc(t: datetime) -> datetime:
    """A timestamp on the history's clock: one with a time zone as naive UTC."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def _cell(row: list[str], i: int) -> str:
    return row[i].strip() if i < len(row) else ""


class _Reader:
    """Cells of one CSV file, read with messages naming file, line and column."""

    def __init__(self, file: Path, what: str) -> None:
        self.name = str(file)
        self.header, self.rows = read_csv(self.name, "", file)
        if not self.rows:
            raise ScenarioError(self.name, "", f"has no data rows; {what}")
        self.what = what

    def has(self, column: str) -> bool:
        return column in self.header

    def missing(self, columns: str) -> ScenarioError:
        return ScenarioError(
            self.name,
            "",
            f"lacks {columns}; {self.what}{header_columns(self.header)}",
        )

    def index(self, column: str) -> int:
        if column not in self.header:
            raise ScenarioError(
                self.name,
                "",
                f"has no column {column!r}{did_you_mean(column, self.header)}"
                f"{header_columns(self.header)}",
            )
        return self.header.index(column)

    def where(self, r: int) -> str:
        return f"line {self.rows.lines[r]}"

    def numbers(self, column: str, low: float | None = None, positive: bool = False) -> FloatArray:
        i = self.index(column)
        out = np.empty(len(self.rows))
        for r, row in enumerate(self.rows):
            text = _cell(row, i)
            try:
                if "_" in text:
                    raise ValueError(text)  # Python reads 1_0 as 10
                v = float(text)
            except ValueError:
                got = shown(text) if text else "an empty cell"
                raise ScenarioError(
                    self.name, self.where(r), f"column {column!r} must be a number, got {got}"
                ) from None
            if not math.isfinite(v):
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} must be finite, got {shown(text)}",
                )
            if abs(v) > MAX_MAGNITUDE:
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} must be at most {MAX_MAGNITUDE:.0e} in size (a typo?), "
                    f"got {shown(text)}",
                )
            if positive and v <= 0:
                raise ScenarioError(
                    self.name, self.where(r), f"column {column!r} must be > 0, got {shown(text)}"
                )
            if low is not None and v < low:
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} must be >= {low:g}, got {shown(text)}",
                )
            out[r] = v
        return out

    def times(self, column: str) -> list[datetime]:
        i = self.index(column)
        out: list[datetime] = []
        aware: bool | None = None
        for r, row in enumerate(self.rows):
            text = _cell(row, i)
            t = parse_time(text)
            if t is None:
                got = shown(text) if text else "an empty cell"
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} must be a timestamp such as 2024-03-01 14:00 or "
                    f"2024-03-01T14:00:00Z, got {got}",
                )
            has_zone = t.tzinfo is not None
            t = naive_utc(t)
            if aware is None:
                aware = has_zone
            elif aware != has_zone:
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} mixes timestamps with and without a time zone "
                    f"({shown(text)}); give all of them one way",
                )
            out.append(t)
        return out

    def labels(self, column: str) -> NDArray[np.str_]:
        i = self.index(column)
        out = []
        for r, row in enumerate(self.rows):
            text = _cell(row, i)
            if not text:
                raise ScenarioError(
                    self.name,
                    self.where(r),
                    f"column {column!r} is empty: every job needs a workload name",
                )
            safe_name(self.name, f"{self.where(r)}, column {column!r}", text)
            out.append(text)
        return np.array(out, dtype=str)


def _hours(times: list[datetime], origin: datetime) -> FloatArray:
    return np.array([(t - origin).total_seconds() / _SECONDS_PER_HOUR for t in times])


JOB_LOG_FORMAT = (
    "a job log needs submit (a timestamp) or submit_hours, units, and duration_hours "
    "or start and end (timestamps) or start_hours and end_hours"
)


def read_job_log(
    file: Path, workload_column: str | None = None, units_column: str = "units"
) -> JobLog:
    """Read and check a job log (see the module's docstring for its columns; the units a
    job held may be in another column, ``units_column``)."""
    rd = _Reader(file, JOB_LOG_FORMAT)
    origin: datetime | None = None
    start: FloatArray | None = None
    end: FloatArray | None = None
    if rd.has("submit"):
        submit_t = rd.times("submit")
        first = min(submit_t)
        origin = first.replace(hour=0, minute=0, second=0, microsecond=0)
        submit = _hours(submit_t, origin)
        if rd.has("start") and rd.has("end"):
            start = _hours(rd.times("start"), origin)
            end = _hours(rd.times("end"), origin)
    elif rd.has("submit_hours"):
        submit = rd.numbers("submit_hours")
        if rd.has("start_hours") and rd.has("end_hours"):
            start = rd.numbers("start_hours")
            end = rd.numbers("end_hours")
    else:
        raise rd.missing("a submit or submit_hours column")
    if not rd.has(units_column):
        raise rd.missing(
            f"a {units_column} column{did_you_mean(units_column, rd.header)} (the units each "
            "job held; --units-column names another)"
        )
    units = rd.numbers(units_column, positive=True)
    if rd.has("duration_hours"):
        duration = rd.numbers("duration_hours", low=0.0)
    elif start is not None and end is not None:
        duration = end - start
        bad = np.flatnonzero(duration < 0)
        if len(bad):
            raise ScenarioError(
                rd.name,
                rd.where(int(bad[0])),
                f"the job ends {-duration[bad[0]]:.4g} h before it starts (end < start)",
            )
    else:
        raise rd.missing("duration_hours, or start and end")
    wait: FloatArray | None = None
    if start is not None:
        wait = start - submit
        bad = np.flatnonzero(wait < -1e-9)
        if len(bad):
            raise ScenarioError(
                rd.name,
                rd.where(int(bad[0])),
                f"the job starts {-wait[bad[0]]:.4g} h before it is submitted (start < submit)",
            )
        wait = np.maximum(wait, 0.0)
    if workload_column is not None:
        workload = rd.labels(workload_column)
    else:
        name = file.stem.replace(" ", "-") or "jobs"
        workload = np.full(len(submit), name if len(name) <= 100 else "jobs")
    keep = duration > 0
    return JobLog(
        file=rd.name,
        submit_hours=submit[keep],
        units=units[keep],
        duration_hours=duration[keep],
        wait_hours=None if wait is None else wait[keep],
        workload=workload[keep],
        origin=origin,
        zero_duration=int((~keep).sum()),
    )


_TIME_COLUMNS = ("hour", "time", "timestamp", "datetime", "date")


def read_usage(file: Path, column: str = "units", time_column: str | None = None) -> UsageSeries:
    """Read and check an hourly usage series: one row per hour, in order.

    ``time_column`` names a timestamp column (default: the first of hour, time,
    timestamp, datetime, date that the file has); its rows must be exactly one hour apart.
    """
    rd = _Reader(file, "a usage series has one row per hour and a numeric demand column")
    values = rd.numbers(column, low=0.0)
    if time_column is None:
        time_column = next((c for c in _TIME_COLUMNS if rd.has(c)), None)
    origin: datetime | None = None
    if time_column is not None:
        times = rd.times(time_column)
        for r in range(1, len(times)):
            step = times[r] - times[r - 1]
            if step != timedelta(hours=1):
                raise ScenarioError(
                    rd.name,
                    rd.where(r),
                    f"column {time_column!r}: rows must be one hour apart, in order; this row "
                    f"is {step.total_seconds() / _SECONDS_PER_HOUR:g} h after the one before",
                )
        origin = times[0]
    if len(values) < 48:
        raise ScenarioError(
            rd.name, "", f"has {len(values)} hourly rows; fitting needs at least 48 (two days)"
        )
    return UsageSeries(file=rd.name, column=column, values=values, origin=origin)


FOCUS_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "ConsumedQuantity")


def is_focus(file: Path) -> bool:
    """Whether a CSV file is a FinOps FOCUS export (its header has the FOCUS columns)."""
    header, _ = read_csv(str(file), "", file)
    return all(c in header for c in FOCUS_COLUMNS)


def read_focus_usage(file: Path, services: list[str] | None = None) -> UsageSeries:
    """An hourly usage series from a FOCUS export: the ConsumedQuantity of the chosen
    services (``ServiceName``; every row when the export has one service), summed per charge
    period and spread evenly over the period's hours (a daily export gives each hour a 24th
    of its day: no daily cycle to fit). Periods must be whole hours, and the series runs
    without gaps from the first period to the last (a missing period is zero usage)."""
    rd = _Reader(file, "a FOCUS export needs ChargePeriodStart, ChargePeriodEnd, ConsumedQuantity")
    starts = rd.times("ChargePeriodStart")
    ends = rd.times("ChargePeriodEnd")
    quantity = np.array(
        [float(_cell(row, rd.index("ConsumedQuantity")) or 0.0) for row in rd.rows], dtype=float
    )
    if rd.has("ServiceName"):
        names = [_cell(row, rd.index("ServiceName")) for row in rd.rows]
    else:
        names = [""] * len(rd.rows)
    present = sorted(set(names))
    if services:
        unknown = [s for s in services if s not in present]
        if unknown:
            raise ScenarioError(
                rd.name,
                "--service",
                f"names no ServiceName of the export: {unknown[0]!r}"
                f"{did_you_mean(unknown[0], present)}; services: {', '.join(present)}",
            )
        keep = [n in services for n in names]
    elif len(present) > 1:
        raise ScenarioError(
            rd.name,
            "--service",
            f"the export holds {len(present)} services ({', '.join(present[:6])}"
            f"{' ...' if len(present) > 6 else ''}): name the ones to fit with --service",
        )
    else:
        keep = [True] * len(names)
    first = min(s for s, k in zip(starts, keep, strict=True) if k) if any(keep) else None
    if first is None:
        raise ScenarioError(rd.name, "--service", "no row of the chosen services")
    last = max(e for e, k in zip(ends, keep, strict=True) if k)
    n_hours = round((last - first).total_seconds() / _SECONDS_PER_HOUR)
    values = np.zeros(n_hours)
    for r, (s, e, q, k) in enumerate(zip(starts, ends, quantity, keep, strict=True)):
        if not k:
            continue
        span = (e - s).total_seconds() / _SECONDS_PER_HOUR
        a = (s - first).total_seconds() / _SECONDS_PER_HOUR
        if span <= 0 or abs(span - round(span)) > 1e-9 or abs(a - round(a)) > 1e-9:
            raise ScenarioError(
                rd.name, rd.where(r), "a charge period must be whole hours on the hour"
            )
        values[round(a) : round(a + span)] += q / span
    if n_hours < 48:
        raise ScenarioError(
            rd.name, "", f"covers {n_hours} hours; fitting needs at least 48 (two days)"
        )
    label = "+".join(services) if services else (present[0] or "ConsumedQuantity")
    return UsageSeries(file=rd.name, column=label, values=values, origin=first)
