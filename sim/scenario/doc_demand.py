"""The document's demand tables: [workloads.NAME] as a union tagged by ``kind`` (jobs,
demand, trace), and the [[changes]] and [[shocks]] that multiply them."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Tag, model_validator

from sim.errors import did_you_mean
from sim.scenario.dists import Param, PerYear
from sim.scenario.leaves import (
    Checked,
    Num,
    Str,
    Table,
    Whole,
    fail,
)
from sim.scenario.values import numstr

_GROWTH = PerYear(-0.99, desc="growth per year: one rate, or one per contract year")


class JobsDoc(Table):
    """[workloads.NAME] with kind = "jobs": arrivals, sizes and durations drawn."""

    kind: Literal["jobs"]
    pool: Annotated[str, Str("the pool it runs on")]
    arrivals_per_day: Annotated[Any, Param(0.0, desc="Poisson rate at hour 0")]
    rate_at_years: Annotated[
        float,
        Num(-50.0, 1.0, desc="arrivals_per_day is the rate at this time (years; < 0: in the past)"),
    ] = 0.0
    growth_per_year: Annotated[Any, _GROWTH] = 0.0
    units: Annotated[Any, Param(0.0, low_open=True, desc="units a job holds, drawn per job")]
    duration_hours: Annotated[Any, Param(0.0, desc="hours at reference speed, drawn per job")]
    max_wait_hours: Annotated[
        Any, Param(0.0, allow_inf=True, desc="queue this long, then overflow")
    ] = math.inf
    priority: Annotated[int, Whole(desc="lower is served first")] = 0
    daily_amplitude: Annotated[Any, Param(0.0, 1.0, desc="swing of arrivals over the day")] = 0.0
    weekly_amplitude: Annotated[Any, Param(0.0, 1.0, desc="swing of arrivals over the week")] = 0.0


_SYNTHETIC = ("demand_units", "daily_amplitude", "weekly_amplitude")


class DemandDoc(Table):
    """[workloads.NAME] with kind = "demand": synthetic, or a recording (``file``)."""

    kind: Literal["demand"]
    pool: Annotated[str, Str("the pool it runs on")]
    demand_units: Annotated[Any, Param(0.0, desc="mean units needed at hour 0")] = None
    growth_per_year: Annotated[Any, _GROWTH] = 0.0
    daily_amplitude: Annotated[Any, Param(0.0, 1.0, desc="swing of the daily cycle")] = 0.0
    weekly_amplitude: Annotated[Any, Param(0.0, 1.0, desc="swing of the weekly cycle")] = 0.0
    noise_cv: Annotated[Any, Param(0.0, desc="hour-to-hour variation")] = 0.0
    file: Annotated[str | None, Str("a recorded hourly demand (CSV), replayed")] = None
    column: Annotated[str, Str("the recording's column")] = "units"

    @classmethod
    def _first(cls, data: dict[str, Any]) -> None:
        if "file" in data:
            for synthetic in _SYNTHETIC:
                if synthetic in data:
                    raise fail(
                        "is not allowed with 'file': a recorded demand keeps its own shape "
                        "(use growth_per_year and noise_cv, or drop 'file')",
                        synthetic,
                    )
        elif "column" in data:
            raise fail("is allowed only with 'file' (the recording's column)", "column")

    @model_validator(mode="after")
    def _level(self) -> DemandDoc:
        if self.file is None and self.demand_units is None:
            raise fail("is required", "demand_units")
        return self


class TraceDoc(Table):
    """[workloads.NAME] with kind = "trace": jobs replayed from a file."""

    kind: Literal["trace"]
    pool: Annotated[str, Str("the pool it runs on")]
    file: Annotated[str, Str("the trace (CSV): submit_hours, units, duration_hours ...")]
    max_wait_hours: Annotated[
        float, Num(0.0, allow_inf=True, desc="queue this long, then overflow")
    ] = math.inf
    priority: Annotated[int, Whole(desc="lower is served first")] = 0


KINDS = ("jobs", "demand", "trace")


def _kind(value: Any) -> Any:
    if not isinstance(value, dict):
        raise fail(f"must be a table, got {value!r}")
    kind = value.get("kind")
    if kind not in KINDS:
        raise fail(
            f"must be one of {', '.join(KINDS)}, got {kind!r}{did_you_mean(str(kind), KINDS)}",
            "kind",
        )
    return value


WorkloadDoc = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[JobsDoc, Tag("~jobs")],
        Annotated[DemandDoc, Tag("~demand")],
        Annotated[TraceDoc, Tag("~trace")],
    ],
    Discriminator(lambda v: f"~{v.get('kind')}" if isinstance(v, dict) else None),
    BeforeValidator(_kind),
]


def _workload_names(value: Any) -> Any:
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(n, str) for n in names):
        raise fail(f"must be a workload name or a list of names, got {value!r}")
    return value


_NAMES = (("anyOf", [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]),)


class Selected(Table):
    """What a change or shock applies to: a pool's workloads, named ones, or all."""

    pool: Annotated[str | None, Str("every workload of this pool")] = None
    workload: Annotated[
        Any, Checked(_workload_names, _NAMES, "a workload name or a list of them")
    ] = None

    @model_validator(mode="after")
    def _one(self) -> Selected:
        if self.pool is not None and self.workload is not None:
            raise fail("give pool or workload, not both", "workload")
        return self


class ChangeDoc(Selected):
    """[[changes]]: a dated multiplier on demand, a step or a linear ramp."""

    at_years: Annotated[float | None, Num(0.0, desc="a step at this time (contract years)")] = None
    start_years: Annotated[float | None, Num(0.0, desc="a ramp from here ...")] = None
    end_years: Annotated[float | None, Num(0.0, desc="... to here")] = None
    factor: Annotated[Any, Param(0.0, desc="the multiplier")]

    @model_validator(mode="after")
    def _step_or_ramp(self) -> ChangeDoc:
        if self.at_years is not None:
            for key in ("start_years", "end_years"):
                if getattr(self, key) is not None:
                    raise fail("give at_years (a step) or start_years and end_years (a ramp)", key)
            return self
        if self.start_years is None or self.end_years is None:
            raise fail(
                "is required (a step), or start_years and end_years (a linear ramp)", "at_years"
            )
        if self.end_years <= self.start_years:
            raise fail(
                f"must be > start_years ({numstr(self.start_years)}), got {numstr(self.end_years)}",
                "end_years",
            )
        return self


class ShockDoc(Selected):
    """[[shocks]]: random episodes, drawn per replication."""

    per_year: Annotated[Any, Param(0.0, desc="episodes start at this rate per year")]
    factor: Annotated[Any, Param(0.0, desc="multiplier during an episode, drawn per episode")]
    duration_years: Annotated[
        Any, Param(0.0, low_open=True, desc="an episode's length, drawn per episode")
    ]
