"""Simulated charges as FinOps FOCUS rows (``capsim export DIR --format focus``).

One row per replication × contract month × spend component of a run folder's
``spend.parquet`` (reserved capacity split into its used and unused share from
``timeseries.parquet``), in the FinOps Foundation's FOCUS columns, so that a FinOps tool loads
a simulated future bill beside the real one. ``EffectiveCost`` is what the run counts as
spend (after the contract's discount, amortised for commitments): it sums to each run's
``spend_usd.total``. ``ListCost`` is before the contract's discount for eligible charges.
capsim's own fields are ``x_``-prefixed (``x_Replication`` first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import store
from sim.calendar import HOURS_PER_MONTH
from sim.scenario import read_toml

#: component → (ChargeCategory, PricingCategory, CommitmentDiscountType)
_KINDS = {
    "reserved": ("Purchase", "Committed", "Reserved Capacity"),
    "commitment": ("Purchase", "Committed", "Commitment"),
    "overflow": ("Usage", "Standard", None),
    "overhang": ("Usage", "Standard", None),
    "transfer": ("Usage", "Standard", None),
    "shortfall": ("Adjustment", "Other", "Spend Commitment"),
}

FOCUS_COLUMNS = [
    "BillingCurrency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "PricingCategory",
    "ServiceName",
    "ResourceId",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
    "ConsumedQuantity",
    "ConsumedUnit",
    "x_Replication",
    "x_ContractMonth",
    "x_Component",
    "x_Pool",
    "x_Target",
]


def focus_rows(directory: Path) -> pd.DataFrame:
    """The run folder's charges as FOCUS rows (see the module docstring)."""
    directory = Path(directory)
    spend = pd.read_parquet(directory / "spend.parquet")
    ts = pd.read_parquet(directory / "timeseries.parquet")
    raw = read_toml(directory / "scenario.toml")
    contract = raw.get("contract", {})
    discount = float(contract.get("discount", 0.0) or 0.0)
    eligible_targets = set(contract.get("eligible_targets", []))
    units = {name: p.get("unit", "unit") for name, p in raw.get("pools", {}).items()}
    spend = spend.assign(pool=spend["pool"].fillna(""), target=spend["target"].fillna(""))
    hours: dict[tuple[int, str, int], tuple[float, float]] = {
        (int(a), str(b), int(c)): (float(d), float(e))
        for a, b, c, d, e in zip(
            ts["replication"], ts["pool"], ts["month"], ts["reserved_unit_hours"],
            ts["used_unit_hours"], strict=True,
        )
    }  # fmt: skip
    rows: list[dict[str, Any]] = []
    records: list[dict[Any, Any]] = spend.to_dict("records")
    for r in records:
        component, pool, target = str(r["component"]), str(r["pool"]), str(r["target"])
        category, pricing, ctype = _KINDS.get(component, ("Usage", "Other", None))
        start = pd.Timestamp(r["month_start"])
        base = {
            "BillingCurrency": "USD",
            "ChargePeriodStart": start,
            "ChargePeriodEnd": start + pd.Timedelta(hours=HOURS_PER_MONTH),
            "ChargeCategory": category,
            "PricingCategory": pricing,
            "ServiceName": target or pool or "contract",
            "ResourceId": f"{pool}/{target}" if target else pool,
            "CommitmentDiscountType": ctype,
            "ConsumedQuantity": np.nan,
            "ConsumedUnit": None,
            "x_Replication": int(r["replication"]),
            "x_ContractMonth": int(r["month"]),
            "x_Component": component,
            "x_Pool": pool,
            "x_Target": target,
        }
        eligible = component in ("reserved", "overhang", "commitment") or (
            component in ("overflow", "transfer") and target in eligible_targets
        )
        cost = float(r["spend_usd"])
        net = (1.0 - discount) if eligible and component != "commitment" else 1.0
        if component == "reserved":
            res, use = hours.get((int(r["replication"]), pool, int(r["month"])), (0.0, 0.0))
            share = use / res if res > 0 else 0.0
            for status, part, qty in (
                ("Used", share, use),
                ("Unused", 1.0 - share, res - use),
            ):
                rows.append(
                    {
                        **base,
                        "BilledCost": cost * part,
                        "EffectiveCost": cost * part,
                        "ListCost": cost * part / net if net > 0 else cost * part,
                        "ContractedCost": cost * part,
                        "CommitmentDiscountId": f"reserved.{pool}",
                        "CommitmentDiscountName": f"{pool} reserved schedule",
                        "CommitmentDiscountStatus": status,
                        "ConsumedQuantity": qty,
                        "ConsumedUnit": f"{units.get(pool, 'unit')}-hours",
                    }
                )
            continue
        commitment = component in ("commitment", "shortfall")
        rows.append(
            {
                **base,
                "BilledCost": cost,
                "EffectiveCost": cost,
                "ListCost": cost / net if net > 0 else cost,
                "ContractedCost": cost,
                "CommitmentDiscountId": (
                    f"commitment.{target}" if component == "commitment" else "contract"
                )
                if commitment
                else None,
                "CommitmentDiscountName": target
                if component == "commitment"
                else ("take-or-pay shortfall" if component == "shortfall" else None),
                "CommitmentDiscountStatus": None,
            }
        )
    return pd.DataFrame(rows, columns=FOCUS_COLUMNS)


def write_focus(directory: Path) -> Path:
    """``DIR/export/focus.csv`` (a FOCUS-format bill of every replication)."""
    directory = Path(directory)
    out = directory / "export" / "focus.csv"
    store.refuse_foreign(directory / "export", "export", suffixes=(".csv",))
    frame = focus_rows(directory)

    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False)

    (directory / "export").mkdir(exist_ok=True)
    (directory / "export" / store.MARKER).touch()
    store.atomic_write(out, write)
    return out
