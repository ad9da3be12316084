"""The scenario format as JSON Schema (draft 4, what taplo reads), for editors
(``capsim schema``).

Editors that read a ``#:schema`` line at the top of a TOML file (Even Better TOML / taplo)
then complete keys and flag typos as the user types. The schema describes what
:mod:`sim.scenario` accepts; the loader stays the judge of values (bounds that depend on
other keys, data files), and a test keeps the two in step key by key. ``stress=True``
gives the schema of a stress file: nothing required, and any number may be written
relative to the base (``{ times = x }``, ``{ plus = x }``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim.scenario.model import PLACEMENTS, QUEUES
from sim.scenario.supply import _POOL_KEYS, _PRICE_KEYS
from sim.scenario.tables import _DIST_PARAMS

Schema = dict[str, Any]

SCHEMA_ID = "https://capsim.dev/schema/scenario.json"


def _num(desc: str, minimum: float | None = None) -> Schema:
    s: Schema = {"type": "number", "description": desc}
    if minimum is not None:
        s["minimum"] = minimum
    return s


def _dist_schema() -> Schema:
    params: dict[str, Schema] = {
        "value": {"type": "number"},
        "mean": {"type": "number"},
        "median": {"type": "number", "minimum": 0},
        "sigma": {"type": "number", "minimum": 0},
        "cv": {"type": "number", "minimum": 0},
        "low": {"type": "number"},
        "high": {"type": "number"},
        "sd": {"type": "number", "minimum": 0},
        "values": {"type": "array", "items": {"type": "number"}, "minItems": 1},
        "weights": {"type": "array", "items": {"type": "number", "minimum": 0}},
        "file": {"type": "string", "description": "CSV file, relative to this file"},
        "column": {"type": "string"},
    }
    required = {
        "fixed": ["value"],
        "exponential": ["mean"],
        "lognormal": ["median", "sigma"],
        "gamma": ["mean", "cv"],
        "uniform": ["low", "high"],
        "normal": ["mean", "sd"],
        "choice": ["values"],
        "empirical": ["file"],
    }
    variants = []
    for kind, keys in _DIST_PARAMS.items():
        variants.append(
            {
                "type": "object",
                "properties": {"dist": {"enum": [kind]}, **{k: params[k] for k in keys}},
                "required": ["dist", *required[kind]],
                "additionalProperties": False,
            }
        )
    return {
        "description": "a distribution: { dist = ..., parameters }",
        "type": "object",
        "required": ["dist"],
        "properties": {"dist": {"enum": list(_DIST_PARAMS)}},
        "oneOf": variants,
    }


class _Builder:
    def __init__(self, stress: bool) -> None:
        self.stress = stress

    def quantity(self, desc: str, inf: bool = False) -> Schema:
        """A number, or a distribution drawn once per replication (stress: or relative)."""
        options: list[Schema] = [{"type": "number"}, {"$ref": "#/definitions/distribution"}]
        if inf:
            options.append({"enum": ["inf", "infinity"]})
        if self.stress:
            options.append({"$ref": "#/definitions/relative"})
        return {"description": desc, "anyOf": options}

    def number(self, desc: str, minimum: float | None = None) -> Schema:
        if not self.stress:
            return _num(desc, minimum)
        return {
            "description": desc,
            "anyOf": [_num(desc, minimum), {"$ref": "#/definitions/relative"}],
        }

    def numbers(self, desc: str) -> Schema:
        """One number, or one per contract year."""
        options: list[Schema] = [
            {"type": "number"},
            {"type": "array", "items": {"type": "number"}},
        ]
        if self.stress:
            options.append({"$ref": "#/definitions/relative"})
        return {"description": desc, "anyOf": options}

    def table(self, desc: str, props: dict[str, Schema], required: Sequence[str] = ()) -> Schema:
        s: Schema = {
            "type": "object",
            "description": desc,
            "properties": props,
            "additionalProperties": False,
        }
        if required and not self.stress:
            s["required"] = list(required)
        return s

    def windows(self, desc: str, fraction: bool = False) -> Schema:
        props: dict[str, Schema] = {
            "start_years": _num("start, in contract years", 0),
            "end_years": _num("end, in contract years", 0),
        }
        if fraction:
            props["fraction"] = _num("share of the reservation delivered in the window", 0)
        return {"type": "array", "description": desc, "items": self.table(desc, props)}

    def price_keys(self) -> dict[str, Schema]:
        keys = {
            "price_change_per_year": self.number(
                "smooth change of the price per year, compounded (-0.26 = -26 %/yr)"
            ),
            "price_steps": {
                "type": "array",
                "description": "dated price multipliers",
                "items": self.table(
                    "a price step",
                    {
                        "at_years": _num("when, in contract years", 0),
                        "factor": _num("price multiplier from then on", 0),
                    },
                ),
            },
            "price_volatility": self.number("annual volatility of the price (GBM), 0-3", 0),
        }
        assert set(keys) == set(_PRICE_KEYS)
        return keys

    def pool(self) -> Schema:
        props: dict[str, Schema] = {
            "unit": {"type": "string", "description": "what a unit is: chip, gpu, vcpu ..."},
            "instance_units": {
                "type": "integer",
                "minimum": 1,
                "description": "placement granularity: units per instance",
            },
            "reserved": self.numbers("units reserved per contract year, or one number"),
            "price_per_unit_hour": self.quantity("USD per reserved unit-hour, used or idle"),
            "reserved_scale": self.number("multiplies every entry of the schedule", 0),
            **self.price_keys(),
            "speed": self.quantity("work per unit-hour relative to the durations' reference"),
            "generations": {
                "type": "array",
                "description": "new hardware from a date",
                "items": self.table(
                    "a generation",
                    {
                        "at_years": _num("from when, in contract years", 0),
                        "speed": _num("speed of the new hardware", 0),
                        "price_per_unit_hour": _num("its price (default: unchanged)", 0),
                    },
                ),
            },
            "delivery": self.windows("windows in which only a fraction is delivered", True),
            "credit_fraction": self.quantity("share of the price credited for undelivered units"),
            "on_demand_price_per_unit_hour": self.quantity(
                "reference on-demand price (savings rate, overhang)"
            ),
            "work_per_unit_hour": self.quantity("useful work (e.g. tokens) per unit-hour"),
            "work_unit": {"type": "string", "description": "what work_per_unit_hour counts"},
            "payment": {"enum": ["monthly", "upfront"], "description": "when reserved is paid"},
        }
        assert set(props) == set(_POOL_KEYS)
        return self.table("a reserved pool", props, ["unit", "reserved", "price_per_unit_hour"])

    def target(self) -> Schema:
        props: dict[str, Schema] = {
            "name": {"type": "string", "description": "the target's name (merge key)"},
            "pool": {"type": "string", "description": "whose work may run here"},
            "price_per_unit_hour": self.quantity("USD per unit-hour"),
            "capacity": self.quantity("most units in use at once (omit: unlimited)", inf=True),
            "speed": self.quantity("a job's duration here = duration / speed"),
            "startup_hours": self.quantity("delay before an overflowed job runs"),
            "transfer_usd_per_job": self.quantity("one-off cost per job sent here"),
            **self.price_keys(),
            "unavailable": self.windows("windows when the target takes no new work"),
            "availability": self.quantity("chance the target has room in a month (0-1)"),
        }
        return self.table("an overflow target", props, ["name", "pool", "price_per_unit_hour"])

    def workload(self) -> Schema:
        growth = {
            "description": "growth per year: one rate, or one per contract year",
            "anyOf": [
                self.quantity("growth per year"),
                {"type": "array", "items": self.quantity("growth in one contract year")},
            ],
        }
        per_job = {
            "description": "a number or a distribution, drawn per job",
            "anyOf": [{"type": "number"}, {"$ref": "#/definitions/distribution"}]
            + ([{"$ref": "#/definitions/relative"}] if self.stress else []),
        }
        props: dict[str, Schema] = {
            "kind": {"enum": ["jobs", "demand", "trace"], "description": "the kind of workload"},
            "pool": {"type": "string", "description": "the pool it runs on"},
            "arrivals_per_day": self.quantity("jobs: Poisson rate at hour 0"),
            "growth_per_year": growth,
            "units": per_job,
            "duration_hours": per_job,
            "max_wait_hours": self.quantity("queue this long, then overflow", inf=True),
            "priority": {"type": "integer", "description": "lower is served first"},
            "demand_units": self.quantity("demand: mean units needed at hour 0"),
            "daily_amplitude": self.quantity("demand: relative swing of the daily cycle"),
            "weekly_amplitude": self.quantity("demand: relative swing of the weekly cycle"),
            "noise_cv": self.quantity("demand: hour-to-hour variation"),
            "file": {"type": "string", "description": "trace or recorded demand (CSV)"},
            "column": {"type": "string", "description": "the recording's column"},
        }
        return self.table("a workload", props, ["kind", "pool"])

    def selector(self) -> dict[str, Schema]:
        names = {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "a workload name or a list of them",
        }
        return {
            "pool": {"type": "string", "description": "every workload of this pool"},
            "workload": names,
        }

    def build(self) -> Schema:
        changes = self.table(
            "a dated multiplier on demand",
            {
                **self.selector(),
                "at_years": _num("a step at this time (contract years)", 0),
                "start_years": _num("a ramp from here ...", 0),
                "end_years": _num("... to here", 0),
                "factor": self.quantity("the multiplier"),
            },
            ["factor"],
        )
        shocks = self.table(
            "random episodes, drawn per replication",
            {
                **self.selector(),
                "per_year": self.quantity("episodes start at this rate per year"),
                "factor": self.quantity("multiplier during an episode, drawn per episode"),
                "duration_years": self.quantity("an episode's length, drawn per episode"),
            },
            ["per_year", "factor", "duration_years"],
        )
        top = self.table(
            "a capsim scenario" + (" (stress file: merged over a base)" if self.stress else ""),
            {
                "scenario": self.table(
                    "what the scenario is",
                    {
                        "name": {"type": "string", "description": "used in paths and reports"},
                        "description": {"type": "string"},
                        "start": {
                            "type": "string",
                            "format": "date",
                            "description": "calendar date of hour 0",
                        },
                        "years": _num("horizon in contract years", 0),
                        "replications": {"type": "integer", "minimum": 1},
                        "seed": {"type": "integer", "minimum": 0},
                    },
                    ["name"],
                ),
                "pools": {
                    "type": "object",
                    "additionalProperties": self.pool(),
                    "description": "reserved pools by name",
                },
                "overflow": {
                    "type": "array",
                    "items": self.target(),
                    "description": "overflow targets, tried in order",
                },
                "workloads": {
                    "type": "object",
                    "additionalProperties": self.workload(),
                    "description": "workloads by name",
                },
                "changes": {"type": "array", "items": changes},
                "shocks": {"type": "array", "items": shocks},
                "policy": self.table(
                    "queueing policy",
                    {
                        "queue": {"enum": list(QUEUES)},
                        "placement": {"enum": list(PLACEMENTS)},
                        "backfill_depth": {"type": "integer", "minimum": 1},
                    },
                ),
                "contract": self.table(
                    "the spend commitment and money over time",
                    {
                        "period": {"enum": ["term", "year"]},
                        "commitment_usd": self.numbers("committed eligible spend per period"),
                        "eligible_targets": {"type": "array", "items": {"type": "string"}},
                        "discount": _num("private-pricing discount on eligible spend", 0),
                        "discount_rate": _num("annual rate for the net present value"),
                        "discount_tiers": {
                            "type": "array",
                            "description": "a larger commitment buys a larger discount",
                            "items": self.table(
                                "a discount tier",
                                {
                                    "commitment_usd": _num("commitment over the term", 0),
                                    "discount": _num("discount from this commitment up", 0),
                                },
                            ),
                        },
                    },
                ),
            },
            ["scenario", "pools", "workloads"],
        )
        top["$schema"] = "http://json-schema.org/draft-04/schema#"  # what taplo reads
        top["$id"] = SCHEMA_ID.replace("scenario", "stress") if self.stress else SCHEMA_ID
        top["title"] = "capsim stress file" if self.stress else "capsim scenario"
        defs: Schema = {"distribution": _dist_schema()}
        if self.stress:
            defs["relative"] = {
                "description": "relative to the base: { times = x } or { plus = x }",
                "type": "object",
                "oneOf": [
                    {
                        "properties": {"times": {"type": "number"}},
                        "required": ["times"],
                        "additionalProperties": False,
                    },
                    {
                        "properties": {"plus": {"type": "number"}},
                        "required": ["plus"],
                        "additionalProperties": False,
                    },
                ],
            }
        top["definitions"] = defs
        return top


def scenario_schema(stress: bool = False) -> Schema:
    """The JSON Schema of a scenario file (``stress``: of a stress file)."""
    return _Builder(stress).build()
