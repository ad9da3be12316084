"""The validated model of a scenario.

:func:`load_scenario` reads a TOML file (see ``docs/scenario.md``), applies ``--set``
overrides and builds a :class:`Scenario`. A ``Scenario`` that exists is valid: every
check happens here, and every problem is a :class:`~sim.errors.ScenarioError` naming
the file, the key path, the value and what is allowed.

Numeric fields of pools, overflow targets and workloads are :class:`ParamSpec`
values: a number, or a distribution drawn once per replication
(:meth:`Scenario.resolve`).

The package, in layers that import only the ones above them: ``model`` (the frozen
dataclasses), ``values`` (numbers and names in capsim's words), ``files`` (data files),
``leaves`` and ``dists`` (the document's leaves as pydantic annotations: numbers with
bounds, names, distributions tagged by ``dist``), ``doc_supply`` and ``doc_demand`` (its
tables as pydantic models, workloads tagged by ``kind``), ``document`` (the whole file
validated, errors in capsim's words), ``tables`` (validated values into model values),
``supply`` and ``demand`` and ``build`` (a Scenario from the document: the checks that
span keys, the horizon and data files) and ``load`` (read, override, build).
"""

from sim.scenario.build import (
    scenario_from_dict,
)
from sim.scenario.files import (
    row_lines,
)
from sim.scenario.load import (
    apply_override,
    load_scenario,
    parse_assignment,
    parse_value,
    read_toml,
    with_overrides,
)
from sim.scenario.model import (
    MAX_INSTANCES,
    MAX_MAGNITUDE,
    PLACEMENTS,
    QUEUES,
    Change,
    Commitment,
    Contract,
    Delivery,
    DemandWorkload,
    Generation,
    JobsWorkload,
    OverflowTarget,
    ParamSpec,
    Policy,
    Pool,
    PricePath,
    Scenario,
    Shock,
    Strategy,
    TraceWorkload,
    Workload,
)

__all__ = [
    "MAX_INSTANCES",
    "MAX_MAGNITUDE",
    "PLACEMENTS",
    "QUEUES",
    "Change",
    "Commitment",
    "Contract",
    "Delivery",
    "DemandWorkload",
    "Generation",
    "JobsWorkload",
    "OverflowTarget",
    "ParamSpec",
    "Policy",
    "Pool",
    "PricePath",
    "Scenario",
    "Shock",
    "Strategy",
    "TraceWorkload",
    "Workload",
    "apply_override",
    "load_scenario",
    "parse_assignment",
    "parse_value",
    "read_toml",
    "row_lines",
    "scenario_from_dict",
    "with_overrides",
]
