"""The metric catalogue: every metric a run emits, once, with its label, unit and meaning.

Each :class:`Metric` is a pattern with placeholders (``{pool}``, ``{target}``,
``{workload}``, ``{commitment}``, ``{strategy}``: names from the scenario; ``{stat}``: a
wait statistic; ``{k}``: a contract year). The terminal tables, figures and reports take
labels and units from here (:mod:`sim.fmt`), the exported files their units, and
docs/scenario.md its metric table (generated: ``make readme``). A test runs every shipped
scenario and alternative and checks that every metric they emit is found here, so a new
metric is one entry in this list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

USD = "USD"
SHARE = "share 0-1"
HOURS = "hours"
JOBS = "jobs"
UNIT_HOURS = "{unit}-hours"
"""Unit-hours of the named pool's unit (``chip-hours``): see :func:`unit_of`."""

_PLACES = {
    "pool": r"[^.]+",
    "target": r"[^.]+",
    "workload": r"[^.]+",
    "commitment": r"[^.]+",
    "strategy": r"[^.]+",
    "stat": r"mean|p50|p95|p99|max",
    "k": r"[0-9]+",
}


@dataclass(frozen=True)
class Metric:
    """A family of metrics: its name pattern, how to label it, its unit and meaning."""

    pattern: str
    label: str
    """Words for tables and axes; the pattern's placeholders are filled in."""
    unit: str
    meaning: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)\}", pattern):
        out += re.escape(pattern[pos : m.start()]) + f"(?P<{m.group(1)}>{_PLACES[m.group(1)]})"
        pos = m.end()
    return re.compile(out + re.escape(pattern[pos:]) + r"\Z")


def _m(pattern: str, label: str, unit: str, meaning: str) -> Metric:
    return Metric(pattern, label, unit, meaning)


CATALOGUE: tuple[Metric, ...] = (
    # money
    _m("spend_usd.total", "total spend", USD, "everything paid over the horizon"),
    _m("spend_usd.reserved", "reserved spend", USD,
       "reserved units × hours × price, every pool (and reserved tranches)"),
    _m("spend_usd.reserved.{pool}", "reserved spend, {pool}", USD,
       "the pool's reserved units × hours × price"),
    _m("spend_usd.overflow", "overflow spend", USD,
       "overflow unit-hours × price + transfers, every target (the overhang included)"),
    _m("spend_usd.overflow.{target}", "overflow spend, {target}", USD,
       "the target's unit-hours × price + transfers"),
    _m("spend_usd.overhang.{pool}", "overhang spend, {pool}", USD,
       "units held past a falling schedule until their jobs end, at the on-demand "
       "reference price"),
    _m("spend_usd.shortfall", "shortfall spend", USD,
       "what the spend commitment's shortfall costs at the end of its periods"),
    _m("spend_usd.discount_savings", "discount savings", USD,
       "what the private-pricing discount saved on eligible spend"),
    _m("spend_usd.owned", "owned-capacity spend", USD, "capex + opex − residual value"),
    _m("spend_usd.savings_plans", "savings-plan spend", USD, "every savings plan's commitment"),
    _m("spend_usd.commitment.{commitment}", "spend, {commitment}", USD,
       "one commitment's spend (a strategy's purchases are one commitment)"),
    _m("idle_spend_usd.{pool}", "idle reserved spend, {pool}", USD,
       "what the pool's idle reserved unit-hours cost"),
    _m("npv_usd.total", "net present value of spend", USD,
       "monthly cash flows discounted at [contract] discount_rate"),
    _m("credit_usd.{pool}", "credit, {pool}", USD,
       "service credits for undelivered reserved capacity"),
    _m("residual_usd", "residual value", USD,
       "owned capacity's value left at the horizon (straight line)"),
    _m("commitment_beyond_horizon_usd", "commitment beyond horizon", USD,
       "what active reserved tranches and plans commit after the horizon: the lock-in"),
    _m("locked_in_usd.year{k}", "locked in, year {k}", USD,
       "committed dollars still to pay at the start of contract year k"),
    _m("sp_covered_usd.{commitment}", "covered by plan, {commitment}", USD,
       "the on-demand value of the usage the savings plan covered"),
    _m("sp_unused_usd.{commitment}", "unused plan, {commitment}", USD,
       "the savings plan's commitment left unused (paid all the same)"),
    _m("cost_per_work_unit_usd.{pool}", "cost per work unit, {pool}", "USD per work unit",
       "the pool's spend per unit of useful work (its work_unit, e.g. a token)"),
    # shares
    _m("utilization.{pool}", "utilization, {pool}", SHARE, "used / reserved unit-hours"),
    _m("utilization.commitment.{commitment}", "utilization, {commitment}", SHARE,
       "used / held unit-hours of a reserved or owned commitment"),
    _m("sp_utilization.{commitment}", "plan utilization, {commitment}", SHARE,
       "the share of the savings plan's commitment used"),
    _m("coverage.{pool}", "coverage, {pool}", SHARE,
       "share of the pool's work, at reference speed, that ran on reserved units"),
    _m("esr", "effective savings rate", SHARE,
       "1 − spend / the same work at the on-demand reference price"),
    _m("esr.{pool}", "savings rate, {pool}", SHARE, "the effective savings rate of one pool"),
    _m("commit_attainment", "commitment attainment", SHARE,
       "eligible spend / the spend commitment"),
    # unit-hours
    _m("reserved_unit_hours.{pool}", "reserved {unit}-hours, {pool}", UNIT_HOURS,
       "reserved capacity over the horizon"),
    _m("used_unit_hours.{pool}", "used {unit}-hours, {pool}", UNIT_HOURS,
       "the part of it that ran work"),
    _m("used_unit_hours.commitment.{commitment}", "used {unit}-hours, {commitment}",
       UNIT_HOURS, "the part of a commitment's units that ran work"),
    _m("idle_unit_hours.{pool}", "idle {unit}-hours, {pool}", UNIT_HOURS,
       "the part that sat idle"),
    _m("overflow_unit_hours.{pool}", "overflow {unit}-hours, {pool}", UNIT_HOURS,
       "the pool's work that ran on overflow targets or on the overhang"),
    _m("overflow_unit_hours.target.{target}", "overflow {unit}-hours, {target}", UNIT_HOURS,
       "work that ran on the target"),
    _m("overhang_unit_hours.{pool}", "overhang {unit}-hours, {pool}", UNIT_HOURS,
       "units held past a falling schedule until their jobs end"),
    _m("undelivered_unit_hours.{pool}", "undelivered {unit}-hours, {pool}", UNIT_HOURS,
       "reserved units the provider did not deliver"),
    _m("unserved_unit_hours.{workload}", "unserved {unit}-hours, {workload}", UNIT_HOURS,
       "demand that found no capacity anywhere"),
    _m("unserved_unit_hours.pool.{pool}", "unserved {unit}-hours, {pool}", UNIT_HOURS,
       "the pool's demand that found no capacity anywhere"),
    _m("unfinished_unit_hours.{workload}", "unfinished {unit}-hours, {workload}", UNIT_HOURS,
       "reference-speed work of jobs not finished at the horizon"),
    # service
    _m("wait_hours.{workload}.{stat}", "{stat} wait, {workload}", HOURS,
       "job waits (censored waits of jobs still queued at the horizon included)"),
    _m("jobs_arrived.{workload}", "jobs arrived, {workload}", JOBS, "jobs submitted"),
    _m("jobs_overflowed.{workload}", "jobs overflowed, {workload}", JOBS,
       "jobs whose wait ran out (sent, or waiting, for an overflow target)"),
    _m("jobs_unfinished.{workload}", "jobs unfinished, {workload}", JOBS,
       "jobs not finished at the horizon"),
    _m("jobs_censored.{workload}", "jobs censored, {workload}", JOBS,
       "jobs still queued at the horizon (their waits are censored)"),
    # purchases and controls
    _m("purchased_units.{strategy}.year{k}", "bought, {strategy}, year {k}", "units",
       "units a strategy bought in contract year k (delivered)"),
    _m("purchased_usd_per_hour.{strategy}.year{k}", "bought, {strategy}, year {k}",
       "USD per hour", "a savings-plan strategy's hourly commitment bought in year k"),
    _m("control.offered_work.{pool}", "offered work (control), {pool}", "unit-hours",
       "offered work minus its expectation given the drawn parameters (mean 0)"),
    _m("control.expected_work.{pool}", "expected work (control), {pool}", "unit-hours",
       "the expectation of offered work given the drawn parameters"),
)  # fmt: skip


@cache
def find(metric: str) -> tuple[Metric, dict[str, str]] | None:
    """The catalogue entry a metric name belongs to, with its placeholders' values."""
    for entry in CATALOGUE:
        m = entry.regex.match(metric)
        if m:
            return entry, m.groupdict()
    return None


def unit_of(metric: str, units: dict[str, str] | None = None) -> str:
    """A metric's unit; unit-hours in the named pool's unit (``units`` maps pool, target,
    workload and commitment names to their pool's unit; ``unit`` when not given)."""
    found = find(metric)
    if found is None:
        return ""
    entry, names = found
    if entry.unit != UNIT_HOURS:
        return entry.unit
    units = units or {}
    for key in ("pool", "target", "workload", "commitment"):
        if key in names:
            return f"{units.get(names[key], 'unit')}-hours"
    return "unit-hours"


def label_of(metric: str, units: dict[str, str] | None = None) -> str:
    """A metric's label in words (no unit): ``idle chip-hours, trainium``."""
    found = find(metric)
    if found is None:
        return metric
    entry, names = found
    unit = unit_of(metric, units).removesuffix("-hours")
    return entry.label.format(unit=unit, **names)


def markdown_table() -> str:
    """The catalogue as docs/scenario.md's metric table."""
    rows = ["| metric | unit | meaning |", "|---|---|---|"]
    for e in CATALOGUE:
        name = re.sub(r"\{(\w+)\}", r"<\1>", e.pattern)
        unit = "unit-hours of the pool's unit" if e.unit == UNIT_HOURS else e.unit
        rows.append(f"| `{name}` | {unit} | {e.meaning} |")
    return "\n".join(rows) + "\n"
