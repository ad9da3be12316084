"""Grids of scenario variants: parsing ``--vary`` and building the points."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from sim.errors import ScenarioError
from sim.scenario import Scenario, parse_value, with_overrides


@dataclass(frozen=True)
class Axis:
    """One varied key and its values."""

    key: str
    values: tuple[Any, ...]


def parse_vary(text: str) -> Axis:
    """``KEY=START:STOP:STEP`` (STOP included when on the grid) or ``KEY=V1,V2,...``."""
    if "=" not in text:
        raise ScenarioError(
            "--vary",
            text,
            "must be KEY=START:STOP:STEP or KEY=V1,V2,... "
            "e.g. pools.trainium.reserved_scale=0.6:1.4:0.1",
        )
    key, spec = (part.strip() for part in text.split("=", 1))
    if ":" in spec and not spec.startswith(("[", "{", '"')):
        parts = spec.split(":")
        if len(parts) != 3:
            raise ScenarioError("--vary", key, f"a range is START:STOP:STEP, got {spec!r}")
        nums = []
        for name, p in zip(("START", "STOP", "STEP"), parts, strict=True):
            v = parse_value(p)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ScenarioError("--vary", key, f"{name} must be a number, got {p!r}")
            nums.append(v)
        start, stop, step = nums
        if step <= 0 or stop < start:
            raise ScenarioError(
                "--vary", key, f"needs STEP > 0 and STOP >= START, got {start}:{stop}:{step}"
            )
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 10_000:
            raise ScenarioError("--vary", key, f"gives {count} values; at most 10000")
        integral = all(isinstance(v, int) for v in nums)
        values: tuple[Any, ...] = tuple(
            start + i * step if integral else round(start + i * step, 12) for i in range(count)
        )
    else:
        parts = [v.strip() for v in spec.split(",")]
        if any(not v for v in parts):
            raise ScenarioError("--vary", key, f"has an empty value (a stray comma?) in {spec!r}")
        values = tuple(parse_value(v) for v in parts)
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ScenarioError("--vary", key, f"gives {seen[0]!r} twice: each value once")
    return Axis(key, values)


def grid_points(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    if not axes:
        return [{}]
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise ScenarioError("--vary", keys[0], "each key may be varied once")
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*[a.values for a in axes])
    ]


def point_scenarios(base: Scenario, points: list[dict[str, Any]]) -> list[Scenario]:
    """Validate every point up front, so a bad value fails before any work is done."""
    out = []
    for point in points:
        try:
            out.append(with_overrides(base, point))
        except ScenarioError as exc:
            desc = ", ".join(f"{k}={v}" for k, v in point.items())
            raise ScenarioError("--vary", exc.path, f"at {desc}: {exc.message}") from None
    return out
