"""The scenario format as JSON Schema (draft 4, what taplo reads), for editors
(``capsim schema``).

Editors that read a ``#:schema`` line at the top of a TOML file (Even Better TOML / taplo)
then complete keys and flag typos as the user types. The schema is generated from the
models that validate a scenario (:mod:`sim.scenario.document`), so it lists exactly the
keys, types, bounds and tagged unions the loader accepts; the loader stays the judge of
what spans keys (names that must exist, schedules as long as the horizon, data files).
``stress=True`` gives the schema of a stress file: nothing required, and any number may
be written relative to the base (``{ times = x }``, ``{ plus = x }``).
"""

from __future__ import annotations

import copy
from typing import Any

from sim.scenario.dists import distribution_schema
from sim.scenario.document import ScenarioDoc

Schema = dict[str, Any]

SCHEMA_ID = "https://capsim.dev/schema/scenario.json"
RELATIVE: Schema = {
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


def _draft4(node: Any) -> Any:
    """Pydantic's JSON Schema (2020-12) in draft 4: ``definitions``, ``enum`` for ``const``,
    no titles, defaults or OpenAPI discriminators."""
    if isinstance(node, list):
        return [_draft4(x) for x in node]
    if not isinstance(node, dict):
        return node
    if node.get("x-capsim") == "distribution":
        return {"$ref": "#/definitions/distribution"}
    out: Schema = {}
    for key, value in node.items():
        if key in ("title", "default", "discriminator"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "$ref":
            out["$ref"] = value.replace("#/$defs/", "#/definitions/")
        elif key == "$defs":
            out["definitions"] = {k: _draft4(v) for k, v in value.items()}
        elif key in ("properties", "definitions"):
            out[key] = {k: _draft4(v) for k, v in value.items()}
        else:
            out[key] = _draft4(value)
    return out


def _relative(node: Any, in_props: bool = False) -> Any:
    """A stress file's schema: no key required; every number may be relative."""
    if isinstance(node, list):
        return [_relative(x) for x in node]
    if not isinstance(node, dict):
        return node
    if in_props:
        return {k: _relative(v) for k, v in node.items()}
    out: Schema = {}
    for key, value in node.items():
        if key == "required" and "dist" not in value:
            continue  # a distribution keeps its tag
        # a workload without its kind (merged over the base's) may match several kinds
        out["anyOf" if key == "oneOf" else key] = _relative(
            value, in_props=key in ("properties", "definitions")
        )
    if out.get("type") == "number":
        plain = dict(out)
        desc = plain.pop("description", None)
        out = {"anyOf": [plain, {"$ref": "#/definitions/relative"}]}
        if desc:
            out["description"] = desc
    elif "anyOf" in out and any(
        isinstance(o, dict) and o.get("type") == "number" for o in out["anyOf"]
    ):
        options = [o for o in out["anyOf"] if o.get("$ref") != "#/definitions/relative"]
        options = [o["anyOf"][0] if "anyOf" in o else o for o in options]
        out["anyOf"] = [*options, {"$ref": "#/definitions/relative"}]
    return out


def scenario_schema(stress: bool = False) -> Schema:
    """The JSON Schema of a scenario file (``stress``: of a stress file)."""
    raw = ScenarioDoc.model_json_schema(ref_template="#/definitions/{model}")
    top = _draft4(raw)
    defs = top.pop("definitions", {})
    dist = _draft4(distribution_schema())
    defs.update(dist.pop("definitions", {}))
    defs["distribution"] = {"description": "a distribution: { dist = ..., parameters }", **dist}
    if stress:
        top = _relative({**top, "definitions": defs})
        defs = top.pop("definitions")
        defs["relative"] = copy.deepcopy(RELATIVE)
    schema: Schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",  # what taplo reads
        "$id": SCHEMA_ID.replace("scenario", "stress") if stress else SCHEMA_ID,
        "title": "capsim stress file" if stress else "capsim scenario",
        **{k: v for k, v in top.items() if k not in ("$schema", "$id", "title")},
        "description": (
            "a capsim scenario" + (" (stress file: merged over a base)" if stress else "")
        ),
        "definitions": defs,
    }
    return schema
