"""The validated model of a scenario.

:func:`load_scenario` reads a TOML file (see ``docs/scenario.md``), applies ``--set``
overrides and builds a :class:`Scenario`. A ``Scenario`` that exists is valid: every
check happens here, and every problem is a :class:`~sim.errors.ScenarioError` naming
the file, the key path, the value and what is allowed.

Numeric fields of pools, overflow targets and workloads are :class:`ParamSpec`
values: a number, or a distribution drawn once per replication
(:meth:`Scenario.resolve`).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import math
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.calendar import HOURS_PER_YEAR
from sim.distributions import (
    Choice,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    FloatArray,
    Gamma,
    Lognormal,
    Normal,
    Uniform,
)
from sim.errors import ScenarioError, did_you_mean

MAX_MAGNITUDE = 1e15  # no number in a scenario is larger: a bigger one is a typo
MAX_INSTANCES = 1_000_000  # instances of one pool the engine keeps books for
QUEUES = ("fifo", "priority", "backfill")
_SECTIONS = (
    "scenario",
    "pools",
    "overflow",
    "workloads",
    "changes",
    "shocks",
    "policy",
    "contract",
)
PLACEMENTS = ("best-fit", "first-fit")

_DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "gamma": ("mean", "cv"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "choice": ("values", "weights"),
    "empirical": ("file", "column"),
}


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ParamSpec:
    """A numeric field: fixed, or drawn once per replication from ``dist``.

    ``low``/``high`` are the field's bounds; a draw outside them is clipped to them.
    """

    path: str
    dist: Distribution
    low: float = -math.inf
    high: float = math.inf

    def draw(self, rng: np.random.Generator) -> float:
        """One value for a replication, clipped to the field's bounds."""
        return min(max(self.dist.draw(rng), self.low), self.high)

    @property
    def is_fixed(self) -> bool:
        return self.dist.is_fixed


@dataclass(frozen=True)
class PricePath:
    """How a price moves over the horizon: smooth yearly change, scheduled steps, and a
    geometric Brownian motion around the deterministic path (mean-preserving)."""

    change_per_year: ParamSpec
    """Relative change per year, compounded smoothly (−0.26 = −26 %/yr)."""
    steps: tuple[tuple[float, float], ...] = ()
    """(at [h], factor): the price is multiplied by ``factor`` from the first contract month
    that starts at or after ``at``."""
    volatility: ParamSpec | None = None
    """Annualised volatility of the GBM; ``None`` or 0 for a deterministic path."""


@dataclass(frozen=True)
class Generation:
    """The pool's hardware changes at ``at_hours``: new speed, optionally a new price."""

    at_hours: float
    speed: float
    price_per_unit_hour: float | None


@dataclass(frozen=True)
class Delivery:
    """Only ``fraction`` of the contracted units are delivered in [start, end) [h]."""

    start_hours: float
    end_hours: float
    fraction: float


@dataclass(frozen=True)
class Pool:
    """A reserved pool of capacity."""

    name: str
    unit: str
    instance_units: int
    reserved: tuple[int, ...]
    """Units reserved in each contract year, after ``reserved_scale`` [unit]."""
    price_per_unit_hour: ParamSpec
    """USD per reserved unit-hour, paid used or idle."""
    reserved_scale: float = 1.0
    price_path: PricePath | None = None
    speed: ParamSpec = field(default_factory=lambda: _fixed("speed", 1.0))
    """Work per unit-hour relative to the reference speed of job durations."""
    generations: tuple[Generation, ...] = ()
    delivery: tuple[Delivery, ...] = ()
    credit_fraction: ParamSpec = field(default_factory=lambda: _fixed("credit_fraction", 1.0))
    """Share of the price credited back for contracted units that were not delivered."""
    on_demand_price_per_unit_hour: ParamSpec | None = None
    """Reference price for the effective savings rate and the overhang; default the first
    target's price."""
    work_per_unit_hour: ParamSpec | None = None
    """Units of useful work (e.g. tokens) per unit-hour at reference speed."""
    work_unit: str = "work unit"
    payment: str = "monthly"
    """``monthly``: reserved capacity is paid month by month; ``upfront``: each contract
    year's reservation is paid at the start of that year (for NPV)."""


@dataclass(frozen=True)
class OverflowTarget:
    """Capacity beyond the reservation, tried in file order."""

    name: str
    pool: str
    price_per_unit_hour: ParamSpec
    capacity: ParamSpec
    """Most units in use at once; ``inf`` when unlimited [unit] (a draw is rounded down)."""
    speed: ParamSpec
    startup_hours: ParamSpec
    transfer_usd_per_job: ParamSpec
    price_path: PricePath | None = None
    unavailable: tuple[tuple[float, float], ...] = ()
    """Windows [start, end) [h] in which the target takes no new work."""
    availability: ParamSpec = field(default_factory=lambda: _fixed("availability", 1.0))
    """Probability that the target takes new work in a given contract month (each month's
    state drawn per replication)."""


@dataclass(frozen=True)
class Contract:
    """A spend commitment (take-or-pay) and the terms of money over time."""

    period: str = "term"
    """``term``: one commitment over the horizon; ``year``: one per contract year."""
    commitment_usd: tuple[float, ...] = ()
    """Committed eligible spend per period (empty: no commitment) [USD]."""
    eligible_targets: tuple[str, ...] = ()
    """Overflow targets whose spend counts toward the commitment (reserved pools always do)."""
    discount: float = 0.0
    """Private-pricing discount on eligible spend (0.1 = 10 % off list)."""
    discount_rate: float = 0.0
    discount_tiers: tuple[tuple[float, float], ...] = ()
    """(commitment over the term [USD], discount) pairs: a larger commitment buys a larger
    discount; ``discount`` is the tier the commitment reaches."""
    """Annual rate for the net present value of spend."""


@dataclass(frozen=True)
class JobsWorkload:
    """Poisson job arrivals with growth compounded by contract year."""

    name: str
    pool: str
    arrivals_per_day: ParamSpec
    growth_per_year: tuple[ParamSpec, ...]
    """One rate for every year, or one per contract year (compounded piecewise)."""
    units: Distribution
    duration_hours: Distribution
    max_wait_hours: ParamSpec
    """Queue this long for reserved capacity, then overflow (``inf``: never) [h]."""
    priority: int
    kind: str = "jobs"


@dataclass(frozen=True, eq=False)
class TraceWorkload:
    """Recorded jobs replayed as they happened."""

    name: str
    pool: str
    file: str
    submit_hours: FloatArray = field(repr=False)
    units: FloatArray = field(repr=False)
    duration_hours: FloatArray = field(repr=False)
    max_wait_hours: FloatArray = field(repr=False)
    priority: FloatArray = field(repr=False)
    kind: str = "trace"


@dataclass(frozen=True, eq=False)
class DemandWorkload:
    """A fluid demand served hour by hour: synthetic, or a recorded hourly series."""

    name: str
    pool: str
    demand_units: ParamSpec | None
    growth_per_year: tuple[ParamSpec, ...]
    daily_amplitude: ParamSpec
    weekly_amplitude: ParamSpec
    noise_cv: ParamSpec
    file: str | None = None
    recording: FloatArray | None = field(default=None, repr=False)
    kind: str = "demand"


Workload = JobsWorkload | TraceWorkload | DemandWorkload


@dataclass(frozen=True)
class Change:
    """A dated multiplier on the arrival rate (jobs) or level (demand) of some workloads:
    a step at ``start_hours``, or a linear ramp from ×1 at ``start_hours`` to ×factor at
    ``end_hours``, held after."""

    workloads: tuple[str, ...]
    kind: str
    """``step`` or ``ramp``."""
    start_hours: float
    end_hours: float
    factor: ParamSpec
    """Drawn once per replication."""


@dataclass(frozen=True)
class Shock:
    """Random episodes: they start as a Poisson process (``per_year``, drawn once per
    replication); each multiplies demand by its own drawn factor for its drawn duration."""

    name: str
    """``shocks[i]``: names the episode draws in the seed tree."""
    workloads: tuple[str, ...]
    per_year: ParamSpec
    factor: Distribution
    duration_years: Distribution


@dataclass(frozen=True)
class Policy:
    """Queue discipline and placement rule."""

    queue: str = "fifo"
    placement: str = "best-fit"
    backfill_depth: int = 100
    """Queue places behind a blocked head that backfilling examines each time."""


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str
    description: str
    start: dt.date
    years: float
    replications: int
    seed: int
    pools: dict[str, Pool]
    overflow: tuple[OverflowTarget, ...]
    workloads: dict[str, Workload]
    policy: Policy
    source: str
    """The file it was read from (for messages)."""
    raw: dict[str, Any] = field(repr=False)
    """The scenario as a TOML-ready dict, overrides applied."""
    contract: Contract = field(default_factory=Contract)
    base_dir: Path = Path(".")
    """The folder relative data-file names were resolved against."""
    changes: tuple[Change, ...] = ()
    shocks: tuple[Shock, ...] = ()
    warnings: tuple[str, ...] = ()
    """Things the user should see that do not stop the run (e.g. trace rows past the
    horizon); the command line prints them."""

    @property
    def horizon_hours(self) -> float:
        """``years × 8760`` [h]."""
        return self.years * HOURS_PER_YEAR

    def params(self) -> list[ParamSpec]:
        """Every per-replication parameter of the scenario."""
        out: list[ParamSpec] = []
        for p in self.pools.values():
            out += [p.price_per_unit_hour, p.speed, p.credit_fraction]
            if p.on_demand_price_per_unit_hour is not None:
                out.append(p.on_demand_price_per_unit_hour)
            if p.work_per_unit_hour is not None:
                out.append(p.work_per_unit_hour)
            out += _path_params(p.price_path)
        for t in self.overflow:
            out += [t.price_per_unit_hour, t.speed, t.startup_hours, t.transfer_usd_per_job]
            out += [t.capacity, t.availability]
            out += _path_params(t.price_path)
        out += [c.factor for c in self.changes] + [sh.per_year for sh in self.shocks]
        for w in self.workloads.values():
            if isinstance(w, JobsWorkload):
                out += [w.arrivals_per_day, *w.growth_per_year, w.max_wait_hours]
            elif isinstance(w, DemandWorkload):
                out += [*w.growth_per_year, w.daily_amplitude, w.weekly_amplitude, w.noise_cv]
                if w.demand_units is not None:
                    out.append(w.demand_units)
        return out


def _fixed(path: str, value: float) -> ParamSpec:
    return ParamSpec(path, Fixed(value))


def _path_params(path: PricePath | None) -> list[ParamSpec]:
    if path is None:
        return []
    return [path.change_per_year] + ([path.volatility] if path.volatility is not None else [])


# --------------------------------------------------------------------------- reading


class _Table:
    """A TOML table being read: tracks the key path and refuses unknown keys."""

    def __init__(
        self,
        where: str,
        path: str,
        data: Any,
        allowed: tuple[str, ...],
        base_dir: Path | None = None,
    ) -> None:
        self.base_dir = base_dir if base_dir is not None else Path(".")
        if not isinstance(data, dict):
            raise ScenarioError(where, path, f"must be a table, got {data!r}")
        self.where = where
        self.path = path
        self.data = data
        for key in data:
            if key not in allowed:
                raise ScenarioError(
                    where,
                    self.sub(key),
                    f"unknown key{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}",
                )

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def err(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.where, self.sub(key), message)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.err(key, "is required")
            return default
        return self.data[key]

    def string(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.get(key, default, required=default is None)
        if not isinstance(value, str):
            raise self.err(key, f"must be a string, got {value!r}")
        if choices and value not in choices:
            raise self.err(
                key,
                f"must be one of {', '.join(choices)}, got {value!r}{did_you_mean(value, choices)}",
            )
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        low_open: bool = False,
        allow_inf: bool = False,
    ) -> float:
        value = self.get(key, default, required=default is None)
        return _number(self.where, self.sub(key), value, low, high, low_open, allow_inf)

    def integer(self, key: str, default: int | None = None, low: int | None = None) -> int:
        value = self.get(key, default, required=default is None)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.err(key, f"must be a whole number, got {value!r}")
        if low is not None and value < low:
            raise self.err(key, f"must be >= {low}, got {value}")
        return value

    def param(
        self,
        key: str,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        low_open: bool = False,
        allow_inf: bool = False,
    ) -> ParamSpec:
        """A number or a distribution drawn once per replication (``allow_inf``: a fixed
        value may also be "inf")."""
        value = self.get(key, default, required=default is None)
        if allow_inf and isinstance(value, str | float) and not isinstance(value, bool):
            number = _number(self.where, self.sub(key), value, low, high, low_open, True)
            return ParamSpec(self.sub(key), Fixed(number), low, high)
        dist = _distribution(self.where, self.sub(key), value, low, high, low_open, self.base_dir)
        return ParamSpec(self.sub(key), dist, low, high)


def _number(
    where: str,
    path: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    if allow_inf and isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ' or "inf"' if allow_inf else ""
        raise ScenarioError(where, path, f"must be a number{hint}, got {value!r}")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ScenarioError(where, path, f"must be a finite number, got {value!r}")
    if math.isfinite(value) and abs(value) > MAX_MAGNITUDE:
        raise ScenarioError(
            where,
            path,
            f"must be between -1e15 and 1e15 (no quantity, price or rate here is larger; "
            f"a typo?), got {value!r}",
        )
    if low_open and value <= low:
        raise ScenarioError(where, path, f"must be > {_fmt(low)}, got {_fmt(value)}")
    if value < low:
        raise ScenarioError(where, path, f"must be >= {_fmt(low)}, got {_fmt(value)}")
    if value > high:
        raise ScenarioError(where, path, f"must be <= {_fmt(high)}, got {_fmt(value)}")
    return value


def _safe_name(where: str, path: str, name: str) -> None:
    """Names end up in folder and file names: one safe path component each."""
    bad = (
        not name.strip()
        or name in (".", "..")
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or len(name) > 100
    )
    if bad:
        raise ScenarioError(
            where,
            path,
            "must be a name of 1 to 100 characters without slashes or control characters, "
            f"and not . or .., got {name!r}",
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _distribution(
    where: str,
    path: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    base_dir: Path | None = None,
) -> Distribution:
    """A number or a ``{dist = ...}`` table. Fixed values are checked against the bounds."""
    if not isinstance(value, dict):
        return Fixed(_number(where, path, value, low, high, low_open))
    if set(value) in ({"times"}, {"plus"}):
        raise ScenarioError(
            where,
            path,
            f"a relative value ({value!r}) belongs in a stress file, merged over a base "
            "(capsim stress, or capsim validate STRESS.toml --base SCENARIO.toml)",
        )
    kind = value.get("dist")
    if kind is None:
        raise ScenarioError(
            where,
            f"{path}.dist",
            f"is required in a distribution; one of {', '.join(_DIST_PARAMS)}",
        )
    if not isinstance(kind, str) or kind not in _DIST_PARAMS:
        raise ScenarioError(
            where,
            f"{path}.dist",
            f"must be one of {', '.join(_DIST_PARAMS)}, got {kind!r}"
            f"{did_you_mean(str(kind), _DIST_PARAMS)}",
        )
    t = _Table(where, path, value, ("dist", *_DIST_PARAMS[kind]), base_dir)

    def pos(key: str) -> float:
        return t.number(key, low=0.0, low_open=True)

    if kind == "fixed":
        return Fixed(t.number("value", low=low, high=high, low_open=low_open))
    if kind == "exponential":
        return Exponential(pos("mean"))
    if kind == "lognormal":
        return Lognormal(pos("median"), t.number("sigma", low=0.0))
    if kind == "gamma":
        return Gamma(pos("mean"), pos("cv"))
    if kind == "uniform":
        lo, hi = t.number("low"), t.number("high")
        if hi < lo:
            raise t.err("high", f"must be >= low ({_fmt(lo)}), got {_fmt(hi)}")
        return Uniform(lo, hi)
    if kind == "normal":
        return Normal(t.number("mean"), t.number("sd", low=0.0))
    if kind == "choice":
        values = t.get("values", required=True)
        if not isinstance(values, list) or not values:
            raise t.err("values", f"must be a non-empty list of numbers, got {values!r}")
        vals = tuple(
            _number(where, f"{path}.values[{i}]", v, low, high, low_open)
            for i, v in enumerate(values)
        )
        weights = t.get("weights", [1.0] * len(vals))
        if not isinstance(weights, list) or len(weights) != len(vals):
            raise t.err("weights", f"must be a list of {len(vals)} numbers, got {weights!r}")
        w = tuple(_number(where, f"{path}.weights[{i}]", x, 0.0) for i, x in enumerate(weights))
        if sum(w) <= 0:
            raise t.err("weights", f"must not all be zero, got {list(w)}")
        return Choice(vals, w)
    # empirical
    file = t.string("file")
    column = t.string("column", "value")
    values_arr = _read_column(
        where, f"{path}.file", _data_path(where, f"{path}.file", base_dir, file), column
    )
    bad = (values_arr < low) | (values_arr > high) | ((values_arr <= low) if low_open else False)
    if np.any(bad):
        k = int(np.argmax(bad))
        bound = f"> {_fmt(low)}" if low_open else f">= {_fmt(low)}"
        raise ScenarioError(
            where,
            f"{path}.file",
            f"{file!r} row {k + 1} of column {column!r} is {_fmt(float(values_arr[k]))}; "
            f"values must be {bound}" + (f" and <= {_fmt(high)}" if math.isfinite(high) else ""),
        )
    return Empirical(file, column, values_arr)


class _Rows(list[list[str]]):
    """CSV data rows, with the physical line each one starts on (``lines``)."""

    lines: list[int]


#: whether data files may lie outside the scenario's folder (``--allow-external-data``)
ALLOW_EXTERNAL_DATA: ContextVar[bool] = ContextVar("allow_external_data", default=False)


def _data_path(where: str, path: str, base_dir: Path | None, file: str) -> Path:
    """A data file named in a scenario, which must lie under the scenario's folder (symlinks
    resolved) unless external data is allowed."""
    folder = base_dir if base_dir is not None else Path(".")
    full = folder / file
    if not ALLOW_EXTERNAL_DATA.get():
        root = folder.resolve()
        if root != full.resolve() and root not in full.resolve().parents:
            raise ScenarioError(
                where,
                path,
                f"{file!r} lies outside the scenario's folder ({root}): keep data files with "
                "the scenario, or pass --allow-external-data",
            )
    return full


def _read_csv(where: str, path: str, file: Path) -> tuple[list[str], _Rows]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ScenarioError(where, path, f"cannot read {str(file)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} is not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x}",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    starts: list[int] = []
    try:
        for row in reader:
            starts.append(reader.line_num - row_lines(row) + 1)
            rows.append(row)
    except csv.Error as exc:
        raise ScenarioError(
            where, path, f"{str(file)!r} is not a valid CSV file (line {reader.line_num}): {exc}"
        ) from None
    if not rows:
        raise ScenarioError(where, path, f"{str(file)!r} is empty; a header row is required")
    header = [h.strip() for h in rows[0]]
    data = _Rows(rows[1:])
    data.lines = starts[1:]
    if len(header) == 1 and ";" in header[0]:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} looks separated by semicolons (header {_shown(header[0], 60)}): "
            "capsim reads comma-separated files",
        )
    return header, data


def row_lines(row: list[str]) -> int:
    """Physical lines a parsed CSV row spanned (quoted cells may hold line breaks)."""
    return 1 + sum(cell.count("\n") for cell in row)


def _shown(text: str, limit: int = 32) -> str:
    """A cell as quoted in a message: short, so no message repeats a line of a foreign file."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _columns(header: list[str]) -> str:
    """The header as listed in a message, if it looks like named columns."""
    plausible = len(header) <= 50 and all(
        0 < len(h) <= 40 and h.replace("_", "").replace("-", "").replace(" ", "").isalnum()
        for h in header
    )
    if plausible:
        return f"; columns: {', '.join(header)}"
    return "; its first line is not a header of named columns (is it a CSV file?)"


def _read_column(where: str, path: str, file: Path, column: str) -> FloatArray:
    header, rows = _read_csv(where, path, file)
    if column not in header:
        raise ScenarioError(
            where,
            path,
            f"{str(file)!r} has no column {column!r}{did_you_mean(column, header)}"
            f"{_columns(header)}",
        )
    i = header.index(column)
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        try:
            out[n] = float(row[i])
        except (ValueError, IndexError):
            got = _shown(row[i]) if i < len(row) else "nothing"
            raise ScenarioError(
                str(file), f"line {rows.lines[n]}", f"column {column!r} must be a number, got {got}"
            ) from None
        if not math.isfinite(out[n]):
            raise ScenarioError(
                str(file),
                f"line {rows.lines[n]}",
                f"column {column!r} must be finite, got {_shown(row[i])}",
            )
    if len(out) == 0:
        raise ScenarioError(where, path, f"{str(file)!r} has no data rows")
    return out


def _read_trace(
    where: str, path: str, file: Path, default_wait: float, default_priority: int
) -> dict[str, FloatArray]:
    header, rows = _read_csv(where, path, file)
    required = ("submit_hours", "units", "duration_hours")
    optional = ("max_wait_hours", "priority")
    for col in required:
        if col not in header:
            raise ScenarioError(
                where,
                path,
                f"{str(file)!r} lacks required column {col!r}{did_you_mean(col, header)}; "
                f"required: {', '.join(required)}; optional: {', '.join(optional)}",
            )
    idx = {c: header.index(c) for c in (*required, *optional) if c in header}
    n = len(rows)
    out = {c: np.empty(n) for c in (*required, *optional)}
    for r, row in enumerate(rows):
        line = f"line {rows.lines[r]}"
        for col in (*required, *optional):
            if col not in idx or idx[col] >= len(row) or row[idx[col]].strip() == "":
                if col in required:
                    raise ScenarioError(str(file), line, f"column {col!r} is empty")
                out[col][r] = default_wait if col == "max_wait_hours" else default_priority
                continue
            text = row[idx[col]]
            try:
                value = _number(
                    str(file),
                    line,
                    float(text) if text.strip().lower() not in ("inf", "infinity") else "inf",
                    allow_inf=col == "max_wait_hours",
                )
            except ValueError:
                raise ScenarioError(
                    str(file), line, f"column {col!r} must be a number, got {text!r}"
                ) from None
            low = 0.0 if col in ("submit_hours", "duration_hours", "max_wait_hours") else None
            if col == "units" and value <= 0:
                raise ScenarioError(str(file), line, f"column 'units' must be > 0, got {text!r}")
            if low is not None and value < low:
                raise ScenarioError(str(file), line, f"column {col!r} must be >= 0, got {text!r}")
            out[col][r] = value
    if n == 0:
        raise ScenarioError(where, path, f"{str(file)!r} has no data rows")
    return out


# --------------------------------------------------------------------------- building


_PRICE_KEYS = ("price_change_per_year", "price_steps", "price_volatility")


def _price_path(t: _Table, years: float) -> PricePath | None:
    """The optional price-path keys of a pool or target."""
    if not any(t.has(k) for k in _PRICE_KEYS):
        return None
    steps = []
    raw = t.get("price_steps", [])
    if not isinstance(raw, list):
        raise t.err("price_steps", f"must be a list of {{ at_years, factor }} tables, got {raw!r}")
    for i, step in enumerate(raw):
        st = _Table(t.where, t.sub(f"price_steps[{i}]"), step, ("at_years", "factor"))
        at = st.number("at_years", low=0.0)
        steps.append((at * HOURS_PER_YEAR, st.number("factor", low=0.0, low_open=True)))
    vol = (
        t.param("price_volatility", 0.0, low=0.0, high=3.0)  # 30 is a typo for 0.30
        if t.has("price_volatility")
        else None
    )
    return PricePath(t.param("price_change_per_year", 0.0, low=-0.99), tuple(sorted(steps)), vol)


def _windows(t: _Table, key: str, years: float) -> list[tuple[float, float, _Table]]:
    raw = t.get(key, [])
    if not isinstance(raw, list):
        raise t.err(key, f"must be a list of tables, got {raw!r}")
    out = []
    for i, item in enumerate(raw):
        w = _Table(
            t.where,
            t.sub(f"{key}[{i}]"),
            item,
            ("start_years", "end_years", "fraction")
            if key == "delivery"
            else ("start_years", "end_years"),
        )
        start = w.number("start_years", low=0.0)
        end = w.number("end_years", low=0.0, high=math.inf)
        if end <= start:
            raise w.err("end_years", f"must be > start_years ({_fmt(start)}), got {_fmt(end)}")
        out.append((start * HOURS_PER_YEAR, end * HOURS_PER_YEAR, w))
    return out


_POOL_KEYS = (
    "unit",
    "instance_units",
    "reserved",
    "price_per_unit_hour",
    "reserved_scale",
    *_PRICE_KEYS,
    "speed",
    "generations",
    "delivery",
    "credit_fraction",
    "on_demand_price_per_unit_hour",
    "work_per_unit_hour",
    "work_unit",
    "payment",
)


def _build_pool(where: str, name: str, data: Any, years: float, base_dir: Path) -> Pool:
    t = _Table(where, f"pools.{name}", data, _POOL_KEYS, base_dir)
    unit = t.string("unit", "unit")
    m = t.integer("instance_units", 1, low=1)
    scale = t.number("reserved_scale", 1.0, low=0.0)
    raw = t.get("reserved", required=True)
    n_years = max(1, math.ceil(years - 1e-9))
    if isinstance(raw, list):
        if len(raw) < n_years:
            raise t.err(
                "reserved",
                f"gives {len(raw)} contract years but the horizon has {n_years}; "
                "give one entry per year or a single number",
            )
        entries = raw[:n_years]
        paths = [f"reserved[{i}]" for i in range(n_years)]
    else:
        entries = [raw] * n_years
        paths = ["reserved"] * n_years
    reserved = []
    for value, key in zip(entries, paths, strict=True):
        v = t.number(key, low=0.0) if key == "reserved" else _number(where, t.sub(key), value, 0.0)
        if not float(v).is_integer():
            raise t.err(key, f"must be a whole number of units, got {v!r}")
        if int(v) % m:
            raise t.err(
                key,
                f"must be a multiple of instance_units ({m}), got {int(v)}; "
                f"nearest: {int(v) // m * m} or {(int(v) // m + 1) * m}",
            )
        reserved.append(math.floor(v * scale / m + 1e-9) * m)
        if m > 1 and reserved[-1] // m > MAX_INSTANCES:
            raise t.err(
                key,
                f"needs {reserved[-1] // m:,} instances of {m}; capsim places jobs on at most "
                f"{MAX_INSTANCES:,} (use larger instance_units, or instance_units = 1)",
            )
    price = t.param("price_per_unit_hour", low=0.0)
    gens = []
    raw_gens = t.get("generations", [])
    if not isinstance(raw_gens, list):
        raise t.err("generations", f"must be a list of tables, got {raw_gens!r}")
    for i, g in enumerate(raw_gens):
        gt = _Table(
            where, t.sub(f"generations[{i}]"), g, ("at_years", "speed", "price_per_unit_hour")
        )
        gp = gt.number("price_per_unit_hour", low=0.0) if gt.has("price_per_unit_hour") else None
        gens.append(
            Generation(
                gt.number("at_years", low=0.0) * HOURS_PER_YEAR,
                gt.number("speed", low=0.0, low_open=True),
                gp,
            )
        )
    deliveries = [
        Delivery(a, b, w.number("fraction", low=0.0, high=1.0))
        for a, b, w in _windows(t, "delivery", years)
    ]
    work = (
        t.param("work_per_unit_hour", low=0.0, low_open=True)
        if t.has("work_per_unit_hour")
        else None
    )
    od = (
        t.param("on_demand_price_per_unit_hour", low=0.0)
        if t.has("on_demand_price_per_unit_hour")
        else None
    )
    return Pool(
        name,
        unit,
        m,
        tuple(reserved),
        price,
        scale,
        price_path=_price_path(t, years),
        speed=t.param("speed", 1.0, low=0.0, low_open=True),
        generations=tuple(sorted(gens, key=lambda g: g.at_hours)),
        delivery=tuple(deliveries),
        credit_fraction=t.param("credit_fraction", 1.0, low=0.0, high=1.0),
        on_demand_price_per_unit_hour=od,
        work_per_unit_hour=work,
        work_unit=t.string("work_unit", "work unit"),
        payment=t.string("payment", "monthly", ("monthly", "upfront")),
    )


def _build_target(
    where: str, i: int, data: Any, pools: Mapping[str, Pool], base_dir: Path, years: float
) -> OverflowTarget:
    path = f"overflow[{i}]"
    t = _Table(
        where,
        path,
        data,
        (
            "name",
            "pool",
            "price_per_unit_hour",
            "capacity",
            "speed",
            "startup_hours",
            "transfer_usd_per_job",
            *_PRICE_KEYS,
            "unavailable",
            "availability",
        ),
        base_dir,
    )
    name = t.string("name")
    _safe_name(where, t.sub("name"), name)
    t.path = f"overflow.{name}"
    pool = t.string("pool")
    if pool not in pools:
        raise t.err(
            "pool",
            f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
        )
    return OverflowTarget(
        name=name,
        pool=pool,
        price_per_unit_hour=t.param("price_per_unit_hour", low=0.0),
        capacity=t.param("capacity", math.inf, low=0.0, allow_inf=True),
        speed=t.param("speed", 1.0, low=0.0, low_open=True),
        startup_hours=t.param("startup_hours", 0.0, low=0.0),
        transfer_usd_per_job=t.param("transfer_usd_per_job", 0.0, low=0.0),
        price_path=_price_path(t, years),
        unavailable=tuple((a, b) for a, b, _ in _windows(t, "unavailable", years)),
        availability=t.param("availability", 1.0, low=0.0, high=1.0),
    )


def _growth(t: _Table, years: float) -> tuple[ParamSpec, ...]:
    """``growth_per_year``: one rate (number or distribution), or a list with one per
    contract year of the horizon (entries past it are ignored)."""
    raw = t.get("growth_per_year", 0.0)
    if not isinstance(raw, list):
        return (t.param("growth_per_year", 0.0, low=-0.99),)
    n_years = max(1, math.ceil(years - 1e-9))
    if len(raw) < n_years:
        raise t.err(
            "growth_per_year",
            f"gives {len(raw)} contract years but the horizon has {n_years}; "
            "give one rate per year or a single rate",
        )
    out = []
    for i, value in enumerate(raw[:n_years]):
        path = t.sub(f"growth_per_year[{i}]")
        dist = _distribution(t.where, path, value, -0.99, math.inf, False, t.base_dir)
        out.append(ParamSpec(path, dist, -0.99))
    return tuple(out)


def _build_workload(
    where: str, name: str, data: Any, pools: Mapping[str, Pool], base_dir: Path, years: float
) -> Workload:
    path = f"workloads.{name}"
    if not isinstance(data, dict):
        raise ScenarioError(where, path, f"must be a table, got {data!r}")
    kinds = ("jobs", "demand", "trace")
    kind = data.get("kind")
    if kind not in kinds:
        raise ScenarioError(
            where,
            f"{path}.kind",
            f"must be one of {', '.join(kinds)}, got {kind!r}{did_you_mean(str(kind), kinds)}",
        )
    common = ("kind", "pool")
    keys: tuple[str, ...]
    if kind == "jobs":
        keys = (
            "arrivals_per_day",
            "growth_per_year",
            "units",
            "duration_hours",
            "max_wait_hours",
            "priority",
        )
    elif kind == "trace":
        keys = ("file", "max_wait_hours", "priority")
    elif "file" in data:
        keys = ("file", "column", "growth_per_year", "noise_cv")
        for synthetic in ("demand_units", "daily_amplitude", "weekly_amplitude"):
            if synthetic in data:
                raise ScenarioError(
                    where,
                    f"{path}.{synthetic}",
                    "is not allowed with 'file': a recorded demand keeps its own shape "
                    "(use growth_per_year and noise_cv, or drop 'file')",
                )
    else:
        keys = (
            "demand_units",
            "growth_per_year",
            "daily_amplitude",
            "weekly_amplitude",
            "noise_cv",
        )
    t = _Table(where, path, data, (*common, *keys), base_dir)
    pool = t.string("pool")
    if pool not in pools:
        raise t.err(
            "pool",
            f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
        )
    growth = _growth(t, years)
    if kind == "jobs":
        return JobsWorkload(
            name=name,
            pool=pool,
            arrivals_per_day=t.param("arrivals_per_day", low=0.0),
            growth_per_year=growth,
            units=_distribution(
                where, t.sub("units"), t.get("units", required=True), 0.0, math.inf, True, base_dir
            ),
            duration_hours=_distribution(
                where,
                t.sub("duration_hours"),
                t.get("duration_hours", required=True),
                0.0,
                math.inf,
                False,
                base_dir,
            ),
            max_wait_hours=t.param("max_wait_hours", math.inf, low=0.0, allow_inf=True),
            priority=t.integer("priority", 0),
        )
    if kind == "trace":
        file = t.string("file")
        cols = _read_trace(
            where,
            t.sub("file"),
            _data_path(where, t.sub("file"), base_dir, file),
            t.number("max_wait_hours", math.inf, low=0.0, allow_inf=True),
            t.integer("priority", 0),
        )
        return TraceWorkload(
            name,
            pool,
            file,
            cols["submit_hours"],
            cols["units"],
            cols["duration_hours"],
            cols["max_wait_hours"],
            cols["priority"],
        )
    if t.has("file"):
        file = t.string("file")
        recording = _read_column(
            where,
            t.sub("file"),
            _data_path(where, t.sub("file"), base_dir, file),
            t.string("column", "units"),
        )
        if np.any(recording < 0):
            bad = int(np.argmax(recording < 0))
            raise ScenarioError(
                str(base_dir / file),
                f"line {bad + 2}",
                f"demand must be >= 0, got {recording[bad]}",
            )
        return DemandWorkload(
            name=name,
            pool=pool,
            demand_units=None,
            growth_per_year=growth,
            daily_amplitude=ParamSpec(t.sub("daily_amplitude"), Fixed(0.0)),
            weekly_amplitude=ParamSpec(t.sub("weekly_amplitude"), Fixed(0.0)),
            noise_cv=t.param("noise_cv", 0.0, low=0.0),
            file=file,
            recording=recording,
        )
    daily = t.param("daily_amplitude", 0.0, low=0.0, high=1.0)
    weekly = t.param("weekly_amplitude", 0.0, low=0.0, high=1.0)
    return DemandWorkload(
        name=name,
        pool=pool,
        demand_units=t.param("demand_units", low=0.0),
        growth_per_year=growth,
        daily_amplitude=daily,
        weekly_amplitude=weekly,
        noise_cv=t.param("noise_cv", 0.0, low=0.0),
    )


def scenario_from_dict(
    data: dict[str, Any], source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as a dict (as parsed from TOML) and build it.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    source : str
        Name used in error messages (normally the file path).
    base_dir : Path, optional
        Folder that relative data-file paths are resolved against.
    """
    where = source
    base = base_dir if base_dir is not None else Path(".")
    top = _Table(where, "", data, _SECTIONS)
    s = _Table(
        where,
        "scenario",
        top.get("scenario", required=True),
        ("name", "description", "start", "years", "replications", "seed"),
    )
    name = s.string("name")
    _safe_name(where, "scenario.name", name)
    start = s.get("start", dt.date(2026, 1, 1))
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise s.err("start", f"must be a TOML date like 2026-07-01, got {start!r}")
    years = s.number("years", 7.0, low=0.0, low_open=True, high=50.0)
    scen_kwargs = dict(
        name=name,
        description=s.string("description", ""),
        start=start,
        years=years,
        replications=s.integer("replications", 100, low=1),
        seed=s.integer("seed", 0, low=0),
    )
    pools_raw = top.get("pools", required=True)
    if not isinstance(pools_raw, dict) or not pools_raw:
        raise top.err("pools", "must hold at least one [pools.NAME] table")
    for n in pools_raw:
        _safe_name(where, f"pools.{n}", n)
    pools = {n: _build_pool(where, n, d, years, base) for n, d in pools_raw.items()}
    over_raw = top.get("overflow", [])
    if not isinstance(over_raw, list):
        raise top.err("overflow", "must be an array of tables: [[overflow]]")
    targets = tuple(_build_target(where, i, d, pools, base, years) for i, d in enumerate(over_raw))
    seen: set[str] = set()
    for tg in targets:
        if tg.name in seen or tg.name in pools:
            raise ScenarioError(
                where,
                f"overflow.{tg.name}.name",
                f"must be unique among pools and targets, got {tg.name!r}",
            )
        seen.add(tg.name)
    wl_raw = top.get("workloads", required=True)
    if not isinstance(wl_raw, dict) or not wl_raw:
        raise top.err("workloads", "must hold at least one [workloads.NAME] table")
    for n in wl_raw:
        _safe_name(where, f"workloads.{n}", n)
    workloads = {n: _build_workload(where, n, d, pools, base, years) for n, d in wl_raw.items()}
    changes = tuple(
        _build_change(where, i, d, pools, workloads) for i, d in enumerate(_array(top, "changes"))
    )
    shocks = tuple(
        _build_shock(where, i, d, pools, workloads, base)
        for i, d in enumerate(_array(top, "shocks"))
    )
    p = _Table(where, "policy", top.get("policy", {}), ("queue", "placement", "backfill_depth"))
    policy = Policy(
        p.string("queue", "fifo", QUEUES),
        p.string("placement", "best-fit", PLACEMENTS),
        p.integer("backfill_depth", 100, low=1),
    )
    contract = _build_contract(where, top.get("contract", {}), years, targets)
    return Scenario(
        base_dir=base,
        contract=contract,
        pools=pools,
        overflow=targets,
        workloads=workloads,
        policy=policy,
        source=source,
        raw=copy.deepcopy(data),
        changes=changes,
        shocks=shocks,
        warnings=(*_trace_warnings(workloads, years), *_fit_warnings(pools, targets, workloads)),
        **scen_kwargs,  # type: ignore[arg-type]
    )


def _array(top: _Table, key: str) -> list[Any]:
    raw = top.get(key, [])
    if not isinstance(raw, list):
        raise top.err(key, f"must be an array of tables: [[{key}]]")
    return raw


def _select(
    t: _Table, pools: Mapping[str, Pool], workloads: Mapping[str, Workload]
) -> tuple[str, ...]:
    """The workloads a change or shock applies to: ``pool``, ``workload`` (a name or a
    list), or neither (every jobs and demand workload)."""
    if t.has("pool") and t.has("workload"):
        raise t.err("workload", "give pool or workload, not both")
    shaped = [n for n, w in workloads.items() if not isinstance(w, TraceWorkload)]
    if t.has("pool"):
        pool = t.string("pool")
        if pool not in pools:
            raise t.err(
                "pool",
                f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
            )
        return tuple(n for n in shaped if workloads[n].pool == pool)
    if not t.has("workload"):
        return tuple(shaped)
    raw = t.get("workload")
    names = raw if isinstance(raw, list) else [raw]
    if not names or not all(isinstance(n, str) for n in names):
        raise t.err("workload", f"must be a workload name or a list of names, got {raw!r}")
    for n in names:
        if n not in workloads:
            raise t.err(
                "workload",
                f"names no workload: {n!r}{did_you_mean(n, workloads)}; "
                f"workloads: {', '.join(workloads)}",
            )
        if isinstance(workloads[n], TraceWorkload):
            raise t.err(
                "workload",
                f"{n!r} replays a trace as recorded: changes and shocks apply to jobs and "
                "demand workloads",
            )
    return tuple(dict.fromkeys(names))


def _build_change(
    where: str,
    i: int,
    data: Any,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
) -> Change:
    t = _Table(
        where,
        f"changes[{i}]",
        data,
        ("pool", "workload", "at_years", "start_years", "end_years", "factor"),
    )
    selected = _select(t, pools, workloads)
    factor = t.param("factor", low=0.0)
    if t.has("at_years"):
        for key in ("start_years", "end_years"):
            if t.has(key):
                raise t.err(key, "give at_years (a step) or start_years and end_years (a ramp)")
        at = t.number("at_years", low=0.0) * HOURS_PER_YEAR
        return Change(selected, "step", at, at, factor)
    if not (t.has("start_years") and t.has("end_years")):
        raise t.err(
            "at_years", "is required (a step), or start_years and end_years (a linear ramp)"
        )
    start = t.number("start_years", low=0.0)
    end = t.number("end_years", low=0.0)
    if end <= start:
        raise t.err("end_years", f"must be > start_years ({_fmt(start)}), got {_fmt(end)}")
    return Change(selected, "ramp", start * HOURS_PER_YEAR, end * HOURS_PER_YEAR, factor)


def _build_shock(
    where: str,
    i: int,
    data: Any,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
    base_dir: Path,
) -> Shock:
    t = _Table(
        where,
        f"shocks[{i}]",
        data,
        ("pool", "workload", "per_year", "factor", "duration_years"),
        base_dir,
    )
    selected = _select(t, pools, workloads)
    return Shock(
        f"shocks[{i}]",
        selected,
        t.param("per_year", low=0.0),
        _distribution(where, t.sub("factor"), t.get("factor", required=True), 0.0),
        _distribution(
            where,
            t.sub("duration_years"),
            t.get("duration_years", required=True),
            0.0,
            math.inf,
            True,
        ),
    )


def _fit_warnings(
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
    workloads: Mapping[str, Workload],
) -> list[str]:
    """Jobs too large for the pool and every overflow target: they can never start."""
    out = []
    for name, w in workloads.items():
        if isinstance(w, JobsWorkload):
            d = w.units
            if isinstance(d, Choice):
                sizes = np.asarray(d.values)[np.asarray(d.weights) > 0]
            elif isinstance(d, Fixed | Empirical):
                sizes = np.asarray([d.value] if isinstance(d, Fixed) else d.values)
            else:
                continue  # an unbounded distribution: no certain answer
        elif isinstance(w, TraceWorkload):
            sizes = w.units
        else:
            continue
        pool = pools[w.pool]
        m = pool.instance_units
        room = max(pool.reserved) if pool.reserved else 0
        caps = [t.capacity.dist for t in targets if t.pool == w.pool]
        if any(not c.is_fixed for c in caps):
            continue  # a drawn capacity: leave it to the run
        widest = max([room, *[c.mean() for c in caps]])
        units = np.ceil(np.asarray(sizes, dtype=float) - 1e-9)
        need = np.where(units > m, np.ceil(units / m) * m, units)
        never = need > widest
        if never.any():
            what = (
                f"{int(never.sum())} of {len(sizes)} trace rows need"
                if isinstance(w, TraceWorkload)
                else f"jobs of {_fmt(float(units[never].min()))} units or more need"
            )
            out.append(
                f"workloads.{name}: {what} more than the pool ever reserves "
                f"({_fmt(room)}) or any overflow target holds: they can never start and will "
                "count as still queued at the horizon"
            )
    return out


def _trace_warnings(workloads: Mapping[str, Workload], years: float) -> list[str]:
    out = []
    for name, w in workloads.items():
        if isinstance(w, TraceWorkload):
            late = int(np.sum(w.submit_hours >= years * HOURS_PER_YEAR))
            if late:
                out.append(
                    f"workloads.{name}: {late} of {len(w.submit_hours)} trace rows are "
                    f"submitted at or after the horizon ({_fmt(years)} years) and are left out"
                )
    return out


def _build_contract(
    where: str, data: Any, years: float, targets: tuple[OverflowTarget, ...]
) -> Contract:
    t = _Table(
        where,
        "contract",
        data,
        (
            "period",
            "commitment_usd",
            "eligible_targets",
            "discount",
            "discount_rate",
            "discount_tiers",
        ),
    )
    period = t.string("period", "term", ("term", "year"))
    n_years = max(1, math.ceil(years - 1e-9))
    commitment: tuple[float, ...] = ()
    if t.has("commitment_usd"):
        raw = t.get("commitment_usd")
        if period == "term":
            commitment = (t.number("commitment_usd", low=0.0),)
        else:
            if not isinstance(raw, list) or len(raw) < n_years:
                raise t.err(
                    "commitment_usd",
                    f'with period = "year" must list at least '
                    f"{n_years} yearly amounts, got {raw!r}",
                )
            commitment = tuple(
                _number(where, t.sub(f"commitment_usd[{i}]"), v, 0.0)
                for i, v in enumerate(raw[:n_years])
            )
    eligible = t.get("eligible_targets", [])
    names = [x.name for x in targets]
    if not isinstance(eligible, list):
        raise t.err(
            "eligible_targets", f"must be a list of overflow target names, got {eligible!r}"
        )
    for i, e in enumerate(eligible):
        if e not in names:
            raise ScenarioError(
                where,
                f"contract.eligible_targets[{i}]",
                f"names no overflow target: {e!r}{did_you_mean(str(e), names)}; "
                f"targets: {', '.join(names)}",
            )
    discount = t.number("discount", 0.0, low=0.0, high=1.0)
    tiers: list[tuple[float, float]] = []
    raw_tiers = t.get("discount_tiers", [])
    if not isinstance(raw_tiers, list):
        raise t.err("discount_tiers", f"must be a list of tables, got {raw_tiers!r}")
    if raw_tiers and t.has("discount"):
        raise t.err(
            "discount_tiers",
            "gives the discount by commitment; drop 'discount' (the tier the commitment "
            "reaches sets it)",
        )
    for i, item in enumerate(raw_tiers):
        tt = _Table(where, t.sub(f"discount_tiers[{i}]"), item, ("commitment_usd", "discount"))
        tiers.append(
            (tt.number("commitment_usd", low=0.0), tt.number("discount", low=0.0, high=1.0))
        )
    tiers.sort()
    if tiers:
        total = sum(commitment)
        reached = [d for c, d in tiers if c <= total + 1e-6]
        discount = reached[-1] if reached else 0.0
    return Contract(
        period,
        commitment,
        tuple(eligible),
        discount,
        t.number("discount_rate", 0.0, low=-0.99, high=10.0),
        tuple(tiers),
    )


# --------------------------------------------------------------------------- overrides


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value as a TOML value; a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict[str, Any], key: str, value: Any, where: str = "--set") -> None:
    """Set ``key`` (a dotted path) in the raw scenario dict, in place.

    ``overflow.NAME.field`` addresses an overflow target by its name (or index).
    """
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ScenarioError(where, key, "must be a dotted key path such as pools.trainium.reserved")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            match = [t for t in node if isinstance(t, dict) and t.get("name") == part]
            if match:
                node = match[0]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                names = [str(t.get("name")) for t in node if isinstance(t, dict)]
                raise ScenarioError(
                    where,
                    ".".join(parts[: i + 1]),
                    f"names no entry{did_you_mean(part, names)}; entries: {', '.join(names)}",
                )
        elif isinstance(node, dict):
            if part not in node:
                if i == 0 and part not in _SECTIONS:
                    raise ScenarioError(
                        where, key, f"unknown section {part!r}{did_you_mean(part, _SECTIONS)}"
                    )
                if i >= 1 and parts[0] in ("pools", "workloads"):
                    raise ScenarioError(
                        where,
                        ".".join(parts[: i + 1]),
                        f"names no {parts[0][:-1]}{did_you_mean(part, node)}; "
                        f"have: {', '.join(node)}",
                    )
                node[part] = {}
            node = node[part]
        else:
            raise ScenarioError(where, key, f"{'.'.join(parts[:i])} is not a table")
    if not isinstance(node, dict):
        raise ScenarioError(where, key, f"{'.'.join(parts[:-1])} is not a table")
    node[parts[-1]] = value


def parse_assignment(text: str, where: str = "--set") -> tuple[str, Any]:
    """Split ``KEY=VALUE`` and parse the value."""
    if "=" not in text:
        raise ScenarioError(where, text, "must be KEY=VALUE, e.g. pools.trainium.reserved=6144")
    key, value = text.split("=", 1)
    return key.strip(), parse_value(value.strip())


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning read and syntax errors into :class:`ScenarioError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "no such file") from None
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(path), "", f"is not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x}"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(str(path), "", "not valid TOML: nested too deeply") from None


def load_scenario(
    path: str | Path, overrides: list[str] | None = None, extra: dict[str, Any] | None = None
) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    overrides : list of str, optional
        ``KEY=VALUE`` strings, applied in order (``capsim run --set``).
    extra : dict, optional
        Already-parsed ``{key: value}`` overrides, applied after ``overrides``.
    """
    path = Path(path)
    data = read_toml(path)
    keys = {}
    for text in overrides or []:
        key, value = parse_assignment(text)
        apply_override(data, key, value)
        keys[key] = "--set"
    for key, value in (extra or {}).items():
        apply_override(data, key, value, "--vary")
        keys[key] = "--vary"
    try:
        return scenario_from_dict(data, str(path), path.parent)
    except ScenarioError as exc:
        for key, option in keys.items():  # the value came from the command line: say so
            if exc.path == key or exc.path.startswith((f"{key}.", f"{key}[")):
                raise ScenarioError(option, exc.path, exc.message) from None
        raise


def with_overrides(
    scenario: Scenario, values: Mapping[str, Any], where: str = "--vary"
) -> Scenario:
    """A new scenario with dotted-key ``values`` applied to ``scenario.raw``."""
    data = copy.deepcopy(scenario.raw)
    for key, value in values.items():
        apply_override(data, key, value, where)
    return scenario_from_dict(data, scenario.source, scenario.base_dir)
