"""Loading a scenario: read the TOML file, apply ``--set`` overrides, build."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError, did_you_mean, read_regular
from sim.scenario.build import scenario_from_dict
from sim.scenario.document import SECTIONS as _SECTIONS
from sim.scenario.model import Scenario


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
        raw = read_regular(path)
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
    path: str | Path,
    overrides: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    allow_external_data: bool = False,
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
    allow_external_data : bool
        Data files may lie outside the scenario's folder (``--allow-external-data``).
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
        return scenario_from_dict(data, str(path), path.parent, allow_external_data)
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
    return scenario_from_dict(
        data, scenario.source, scenario.base_dir, scenario.allow_external_data
    )
