"""Numbers and names as a scenario may write them, checked with messages that name the key."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from sim.errors import ScenarioError
from sim.scenario.model import MAX_MAGNITUDE


def checked_number(
    where: str,
    path: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a float within [low, high] (``low_open``: above low), or a ScenarioError
    naming ``where`` and ``path``."""
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
        raise ScenarioError(where, path, f"must be > {numstr(low)}, got {numstr(value)}")
    if value < low:
        raise ScenarioError(where, path, f"must be >= {numstr(low)}, got {numstr(value)}")
    if value > high:
        raise ScenarioError(where, path, f"must be <= {numstr(high)}, got {numstr(value)}")
    return value


def safe_name(where: str, path: str, name: str) -> None:
    """Names end up in folder and file names: one safe path component each, with no
    invisible or direction-changing characters (U+200B, U+202E ...: a folder name that shows
    as something else)."""
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
    hidden = [c for c in name if unicodedata.category(c) in ("Cf", "Zl", "Zp", "Co", "Cs")]
    if hidden:
        raise ScenarioError(
            where,
            path,
            f"must not hold invisible or direction-changing characters, got {name!r} "
            f"(U+{ord(hidden[0]):04X})",
        )


def metric_name(where: str, path: str, name: str) -> None:
    """A pool, target, workload, commitment or strategy name: a safe name without a dot
    (metric names are dot-separated: a pool named ``target.od`` beside a target ``od`` would
    give two metrics one name)."""
    safe_name(where, path, name)
    if "." in name:
        raise ScenarioError(
            where,
            path,
            f"must not contain a dot: metric names are dot-separated (spend_usd.overflow.NAME), "
            f"got {name!r}",
        )


def numstr(x: float) -> str:
    """A number as a person writes it in a message: ``3``, not ``3.0``."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)
