"""``capsim export DIR``: the tables a finance team wants, as CSV files or one workbook.

Reads a run, sweep or stress directory and writes one table per file (``DIR/export/*.csv``)
or per sheet (``DIR/export.xlsx``); every column header carries its unit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from sim import store
from sim.fmt import metric_unit
from sim.optimize import compared_ramps
from sim.results import STAT_NAMES
from sim.scenario import read_toml


def _units(directory: Path) -> dict[str, str]:
    """The unit of every pool, overflow target (its pool's) and workload (its pool's)."""
    raw = read_toml(directory / "scenario.toml")
    pools = {name: str(p.get("unit", "unit")) for name, p in raw.get("pools", {}).items()}
    out = dict(pools)
    for t in raw.get("overflow", []):
        out[str(t.get("name"))] = pools.get(str(t.get("pool")), "unit")
    for name, w in raw.get("workloads", {}).items():
        out.setdefault(name, pools.get(str(w.get("pool")), "unit"))
    return out


def _stats_frame(metrics: dict[str, dict[str, float]], units: dict[str, str]) -> pd.DataFrame:
    rows = []
    for m, st in metrics.items():
        row: dict[str, Any] = {"metric": m, "unit": metric_unit(m, units)}
        row.update({k: st.get(k) for k in STAT_NAMES})
        rows.append(row)
    return pd.DataFrame(rows)


def _contract_year(month: pd.Series) -> pd.Series:
    return (month // 12).astype(int) + 1


def _summary_metric(component: str, pool: str, target: str) -> str:
    """The summary.json metric a spend row adds up to (over contract years and targets)."""
    if component == "reserved":
        return f"spend_usd.reserved.{pool}"
    if component == "overhang":
        return f"spend_usd.overhang.{pool}"
    if component in ("overflow", "transfer"):
        return f"spend_usd.overflow.{target}"  # usage and transfer fees
    if component == "commitment":
        return f"spend_usd.commitment.{target}"
    return "spend_usd.shortfall"


def run_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """summary (stats per metric), spend by contract year and component, idle by contract
    year per pool, and one row per run."""
    summary = store.read_json(directory / "summary.json")
    units = _units(directory)
    reps = pd.read_parquet(directory / "replications.parquet")
    n = len(reps)
    tables = {"summary": _stats_frame(summary["metrics"], units)}
    if (directory / "spend.parquet").exists():
        s = pd.read_parquet(directory / "spend.parquet")
        s = s.assign(contract_year=_contract_year(s["month"]))
        first = s.groupby("contract_year")["month_start"].min()
        spend = (
            s.assign(pool=s["pool"].fillna(""), target=s["target"].fillna(""))
            .groupby(["contract_year", "component", "pool", "target"], as_index=False)["spend_usd"]
            .sum()
        )
        spend["spend_usd"] /= n
        spend.insert(1, "year_starts", spend["contract_year"].map(first).astype(str))
        spend["summary_metric"] = [
            _summary_metric(c, p, t)
            for c, p, t in zip(spend["component"], spend["pool"], spend["target"], strict=True)
        ]
        tables["spend_by_year"] = pd.DataFrame(spend).rename(
            columns={"spend_usd": "mean spend (USD)"}
        )
    ts = pd.read_parquet(directory / "timeseries.parquet")
    ts = ts.assign(contract_year=_contract_year(ts["month"]))
    per = ts.groupby(["pool", "contract_year", "replication"])[
        ["reserved_unit_hours", "used_unit_hours", "idle_unit_hours", "idle_spend_usd"]
    ].sum()
    g = per.groupby(level=["pool", "contract_year"])
    idle = g.mean().reset_index()
    idle["idle spend P10 (USD)"] = g["idle_spend_usd"].quantile(0.1).to_numpy()
    idle["idle spend P90 (USD)"] = g["idle_spend_usd"].quantile(0.9).to_numpy()
    idle["unit"] = idle["pool"].map(units)
    tables["idle_by_year"] = idle.rename(
        columns={
            "reserved_unit_hours": "mean reserved (unit-hours)",
            "used_unit_hours": "mean used (unit-hours)",
            "idle_unit_hours": "mean idle (unit-hours)",
            "idle_spend_usd": "mean idle spend (USD)",
        }
    )
    tables["runs"] = reps.rename(
        columns={c: f"{c} ({metric_unit(c, units)})" for c in reps.columns if metric_unit(c, units)}
    )
    return tables


def sweep_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """One row per grid point: the varied keys, the objective with its CI, feasibility and
    the mean of every metric; then one row per point and run."""
    summary = store.read_json(directory / "summary.json")
    units = _units(directory)
    rows = []
    for p in summary["points"]:
        row: dict[str, Any] = {k: p[k] for k in summary["keys"]}
        lo, hi = p["objective_ci95"]
        row[f"{summary['objective']} spend (USD)"] = p["objective_value"]
        row["objective 95% CI low (USD)"] = lo
        row["objective 95% CI high (USD)"] = hi
        row["meets every constraint"] = p["feasible"]
        row["violations"] = "; ".join(p.get("violations", []))
        for m, st in p.get("metrics", {}).items():
            row[f"{m} mean ({metric_unit(m, units)})"] = st.get("mean")
        rows.append(row)
    points = pd.read_parquet(directory / "points.parquet")
    return {"points": pd.DataFrame(rows), "runs": points}


def stress_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """Per case and metric: the level (mean, CI, P10, P90) and the paired change against
    the baseline with its CI."""
    summary = store.read_json(directory / "summary.json")
    units = _units(directory)
    rows = []
    for c in summary["cases"]:
        for m, lv in c["metrics"].items():
            ch = c["change"].get(m, {})
            rows.append(
                {
                    "case": c["case"],
                    "metric": m,
                    "unit": metric_unit(m, units),
                    "mean": lv.get("mean"),
                    "ci95_low": lv.get("ci95_low"),
                    "ci95_high": lv.get("ci95_high"),
                    "p10": lv.get("p10"),
                    "p90": lv.get("p90"),
                    "change vs baseline": ch.get("mean"),
                    "change ci95_low": ch.get("ci95_low"),
                    "change ci95_high": ch.get("ci95_high"),
                }
            )
    return {"cases": pd.DataFrame(rows), "runs": pd.read_parquet(directory / "cases.parquet")}


def optimize_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """The optimised, own and uniform ramps per pool and contract year, and every evaluation."""
    s = store.read_json(directory / "summary.json")
    rows = []
    for label, pools, _value, _held in compared_ramps(s):
        for pool, units in pools.items():
            for y, u in enumerate(units, 1):
                rows.append(
                    {"ramp": label, "pool": pool, "contract_year": y, "reserved (units)": u}
                )
    return {
        "ramps": pd.DataFrame(rows),
        "evaluations": pd.read_parquet(directory / "evaluations.parquet"),
    }


TABLES: dict[str, Callable[[Path], dict[str, pd.DataFrame]]] = {
    "optimize": optimize_tables,
    "run": run_tables,
    "sweep": sweep_tables,
    "stress": stress_tables,
}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a text cell as a formula (OWASP, CSV injection)."""


def _inert(value: object) -> object:
    """A text cell a spreadsheet shows as text: a leading apostrophe before =, +, -, @, tab
    or carriage return (names from a scenario reach the tables as they were written)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def inert_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell and header neutralised for CSV (:func:`_inert`)."""
    out = frame.rename(columns=lambda c: _inert(c) if isinstance(c, str) else c)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_inert)
    return out


def _text_cells(sheet: Any) -> None:
    """Every cell openpyxl took for a formula (text starting with =) is text again."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def compare_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """A comparison's tables: the matrix (one row per alternative and case: objective, CI,
    regret with its CI, feasible, best) and every replication of every cell."""
    s = store.read_json(directory / "summary.json")
    metric = s["objective_metric"]
    rows = []
    for a in s["alternatives"]:
        for k in s["cases"]:
            c, r = s["cells"][a][k], s["regret"][a][k]
            rows.append(
                {
                    "alternative": a,
                    "case": k,
                    f"{s['objective']} of {metric}": c["objective_value"],
                    "ci95_low": c["ci95"][0],
                    "ci95_high": c["ci95"][1],
                    "regret": r["mean"],
                    "regret_ci95_low": r["ci95_low"],
                    "regret_ci95_high": r["ci95_high"],
                    "feasible": c["feasible"],
                    "best_in_case": s["best"][k] == a,
                    "worst_case_regret": s["worst_case_regret"][a]["mean"],
                    "minimax_regret_choice": s["minimax_regret"] == a,
                }
            )
    return {"matrix": pd.DataFrame(rows), "cells": pd.read_parquet(directory / "cells.parquet")}


TABLES["compare"] = compare_tables


_DATE_COLUMNS = ("month_start", "year_starts", "ChargePeriodStart", "ChargePeriodEnd")
MONEY_FORMAT = '"$"#,##0;[Red]-"$"#,##0'
"""Excel's currency format for money columns: dollars with thousands separators."""


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as dates (a workbook shows them as dates, not text)."""
    out = frame
    for col in _DATE_COLUMNS:
        if col in out.columns:
            out = out.assign(**{col: pd.to_datetime(out[col], errors="coerce")})
    return out


def _is_money(header: object) -> bool:
    text = str(header)
    return "(USD)" in text or text.endswith("_usd") or "usd." in text or "Cost" in text


def _deck_ready(sheet: Any, frame: pd.DataFrame) -> None:
    """A sheet a finance team opens as it is: the header row frozen, columns wide enough for
    their header and values, money in a currency format, dates as dates."""
    sheet.freeze_panes = "A2"
    for i, col in enumerate(frame.columns, start=1):
        letter = get_column_letter(i)
        values = frame[col].head(200).astype(str)
        width = max([len(str(col)), *(len(v) for v in values)])
        sheet.column_dimensions[letter].width = min(max(10, width + 2), 60)
        money = _is_money(col) and pd.api.types.is_numeric_dtype(frame[col])
        date = col in _DATE_COLUMNS
        if not (money or date):
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            cell.number_format = MONEY_FORMAT if money else "yyyy-mm-dd"


def export(directory: Path, fmt: str = "csv") -> list[Path]:
    """Write the directory's tables: ``DIR/export/<table>.csv`` or ``DIR/export.xlsx``."""
    directory = Path(directory)
    tables = TABLES[store.kind_of(directory)](directory)
    if fmt == "xlsx":
        path = directory / "export.xlsx"
        store.refuse_foreign(path, "export")  # only a workbook capsim wrote is replaced

        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                xl.book.properties.creator = "capsim"
                for name, frame in tables.items():
                    frame = _dated(frame)
                    frame.to_excel(xl, sheet_name=name[:31], index=False)
                    _text_cells(xl.sheets[name[:31]])
                    _deck_ready(xl.sheets[name[:31]], frame)

        store.atomic_write(path, write)
        return [path]

    store.refuse_foreign(directory / "export", "export", suffixes=(".csv",))

    def write_dir(tmp: Path) -> list[Path]:
        (tmp / store.MARKER).touch()
        files = []
        for name, frame in tables.items():
            f = tmp / f"{name}.csv"
            inert_csv(frame).to_csv(f, index=False)
            files.append(f)
        return files

    return store.replace_dir(directory / "export", write_dir)
