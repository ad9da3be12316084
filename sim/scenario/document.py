"""The scenario document: pydantic models of every table of the format.

The models say which keys a table has (unknown keys refused, with a did-you-mean), which
are required, their types, bounds and defaults, and the tagged unions of the format
(``kind`` of a workload, ``dist`` of a distribution). They are the one place these are
declared: :func:`read_document` validates a parsed TOML file with them, the builder
(:mod:`sim.scenario.build`) reads the validated models and checks only what spans keys
or needs the horizon and the data files, and ``capsim schema`` publishes their JSON
Schema. The tables are :mod:`sim.scenario.doc_supply` and :mod:`sim.scenario.doc_demand`,
their leaves :mod:`sim.scenario.leaves` and :mod:`sim.scenario.dists`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from sim.errors import ScenarioError
from sim.scenario.doc_commit import CommitmentDoc, StrategyDoc
from sim.scenario.doc_demand import ChangeDoc, ShockDoc, WorkloadDoc
from sim.scenario.doc_supply import ContractDoc, MetaDoc, PolicyDoc, PoolDoc, TargetDoc
from sim.scenario.leaves import (
    Table,
    fail,
    house,
    message_of,
)
from sim.scenario.values import metric_name


def _named(section: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise fail(f"must hold at least one [{section}.NAME] table")
        for n in value:
            house(partial(metric_name, "", str(n), n))
        return value

    return check


def _array(section: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail(f"must be an array of tables: [[{section}]]")
        return value

    return check


class ScenarioDoc(Table):
    """A capsim scenario."""

    scenario: MetaDoc
    pools: Annotated[dict[str, PoolDoc], BeforeValidator(_named("pools"))]
    overflow: Annotated[list[TargetDoc], BeforeValidator(_array("overflow"))] = []  # noqa: RUF012
    workloads: Annotated[dict[str, WorkloadDoc], BeforeValidator(_named("workloads"))]
    changes: Annotated[list[ChangeDoc], BeforeValidator(_array("changes"))] = []  # noqa: RUF012
    shocks: Annotated[list[ShockDoc], BeforeValidator(_array("shocks"))] = []  # noqa: RUF012
    policy: PolicyDoc = PolicyDoc()
    contract: ContractDoc = ContractDoc()
    commitments: Annotated[list[CommitmentDoc], BeforeValidator(_array("commitments"))] = []  # noqa: RUF012
    strategies: Annotated[list[StrategyDoc], BeforeValidator(_array("strategies"))] = []  # noqa: RUF012


SECTIONS = tuple(ScenarioDoc.model_fields)


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic location as capsim writes key paths: ``pools.trn.reserved[1]``; an
    overflow target by its name once it has a valid one (``overflow.od.speed``)."""
    keys = [x for x in loc if not (isinstance(x, str) and x.startswith("~"))]  # union tags
    parts: list[str] = []
    node = data
    for i, item in enumerate(keys):
        if isinstance(item, int):
            entry = node[item] if isinstance(node, list) and item < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            rest = keys[i + 1 :]
            by_name = parts == ["overflow"] and isinstance(name, str) and rest != []
            parts.append(f".{name}" if by_name and rest[0] != "name" else f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
        ok = isinstance(node, dict) and item in node
        ok = ok or (isinstance(node, list) and isinstance(item, int) and item < len(node))
        node = node[item] if ok else None
    return "".join(parts)


def read_document(data: Any, where: str) -> ScenarioDoc:
    """Validate a parsed scenario; raise a ScenarioError naming ``where``, the key path,
    the value and what is allowed."""
    try:
        return ScenarioDoc.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        sub, message = message_of(err)
        path = _key_path(tuple(err["loc"]), data)
        if sub:
            path = f"{path}{sub}" if sub.startswith("[") else (f"{path}.{sub}" if path else sub)
        raise ScenarioError(where, path, message) from None
