"""The report a CFO reads: one statistic per number, labelled; the executive page's numbers
recomputed from the runs; fixed colours; calendar years; P10/P90; PDF and spreadsheet export."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from sim import executive, export, fmt, plots, report, store
from sim.cli import main
from sim.montecarlo import run
from sim.scenario import load_scenario, read_toml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """1.2 years of the baseline, 3 runs: the $4B commitment cannot be met (a shortfall in
    every run), two pools, three overflow targets, four job workloads."""
    sc = load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=1.2"])
    result = run(sc, n=3, seed=5, workers=1)
    out = tmp_path_factory.mktemp("run")
    store.write_run(out, result, "test")
    return result, out


def _draw(fn, *args, **kw):
    fig, ax = plt.subplots()
    with plots.style():
        fn(*args, ax=ax, **kw)
        fig.canvas.draw()
    return fig, ax


def test_summary_stats_have_p10_and_p90_between_p5_and_p95(run_dir):
    _, out = run_dir
    s = store.read_json(out / "summary.json")["metrics"]["spend_usd.total"]
    reps = pd.read_parquet(out / "replications.parquet")["spend_usd.total"]
    assert s["p10"] == pytest.approx(float(np.percentile(reps, 10)))
    assert s["p90"] == pytest.approx(float(np.percentile(reps, 90)))
    assert s["p5"] <= s["p10"] <= s["p50"] <= s["p90"] <= s["p95"]


def test_idle_figure_bars_add_up_to_the_tables_mean_idle_spend(run_dir):
    result, _ = run_dir
    mean = result.summary()["idle_spend_usd.trainium"]["mean"]
    fig, ax = _draw(plots.idle_by_year, result.timeseries, "trainium", "chip")
    bars = [p.get_height() for p in ax.patches]
    assert sum(bars) == pytest.approx(mean, rel=1e-9)
    title = ax.get_title(loc="left")
    assert fmt.usd(mean) in title and "mean of 3 runs" in title
    assert ax.get_ylabel().endswith("(USD)")  # dollars on the axis, chip-hours in the labels
    assert any("chip-h" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_spend_figure_labels_every_component_and_adds_up_to_mean_total(run_dir):
    result, _ = run_dir
    fig, ax = _draw(plots.spend_by_year, result.spend)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "take-or-pay shortfall" in labels
    assert all(not re.search(r":\s*$|nan|None", lab) for lab in labels), labels
    totals = sum(p.get_height() for p in ax.patches)
    assert totals == pytest.approx(result.summary()["spend_usd.total"]["mean"], rel=1e-6)
    # contract years by their calendar years: the baseline starts 2026-07-01
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["2026–27", "2027–28"]
    plt.close(fig)


def test_each_target_keeps_its_colour_whether_or_not_another_one_spent(run_dir):
    result, out = run_dir
    colors = report.scenario_colors(read_toml(out / "scenario.toml"))
    spend = result.spend
    without = spend[spend["target"] != "aws-capacity-blocks-trn2"]
    seen = {}
    for frame in (spend, without):
        fig, ax = _draw(plots.spend_by_year, frame, colors=colors)
        handles, labels = ax.get_legend_handles_labels()
        for h, lab in zip(handles, labels, strict=True):
            if lab == "overflow: coreweave-h100":
                seen.setdefault(lab, set()).add(to_hex(h.patches[0].get_facecolor()))
        plt.close(fig)
    assert seen["overflow: coreweave-h100"] == {colors["coreweave-h100"].lower()}


def test_wait_figure_marks_each_overflow_limit_and_stops_at_the_horizon(run_dir):
    result, out = run_dir
    limits = report.wait_limits(read_toml(out / "scenario.toml"))
    assert limits == {"pretraining": 72, "fine-tuning": 24, "experiments": 6, "batch-inference": 12}
    horizon = 1.2 * 8760
    fig, ax = _draw(plots.wait_cdf, result.waits, limits=limits, horizon_hours=horizon)
    vlines = {round(line.get_xdata()[0], 6) for line in ax.lines if len(set(line.get_xdata())) == 1}
    assert {6.0, 12.0, 24.0, 72.0} <= vlines
    assert ax.get_xlim()[1] == pytest.approx(horizon)
    assert "pooled" in ax.get_title(loc="left")
    plt.close(fig)


@pytest.mark.parametrize("n", [8, 40])
def test_spend_distribution_marks_mean_and_range_and_warns_under_30_runs(n):
    rng = np.random.default_rng(n)
    reps = pd.DataFrame({"spend_usd.total": 4e9 + 1e8 * rng.standard_normal(n)})
    fig, ax = _draw(plots.spend_distribution, reps)
    texts = " ".join(t.get_text() for t in ax.texts)
    for label in ("mean", "P10", "P50", "P90"):
        assert label in texts
    assert ("only 8 runs" in texts) == (n < 30)
    # tick labels stay distinct however narrow the range
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(ticks) == len(set(ticks))
    plt.close(fig)


def test_utilization_bands_stay_inside_the_plot(run_dir):
    result, _ = run_dir
    fig, ax = _draw(plots.utilization_curves, result.timeseries, "trainium", "chip", 1.2 * 8760)
    top = ax.get_ylim()[1]
    for coll in ax.collections:
        for path in coll.get_paths():
            assert path.vertices[:, 1].max() <= top
    assert "where both bands overlap" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def _stress_summary(values: dict[str, list[float]]) -> dict:
    cases = []
    for i, name in enumerate(["baseline", "boom", "bust"]):
        metrics, change = {}, {}
        for m, v in values.items():
            metrics[m] = {"mean": v[i], "ci95_low": v[i] * 0.95, "ci95_high": v[i] * 1.05}
            d = v[i] - v[0]
            change[m] = {"mean": d, "ci95_low": d - 0.01, "ci95_high": d + 0.01}
        cases.append({"case": name, "metrics": metrics, "change": change})
    return {"cases": cases, "replications": 10}


def test_stress_figures_show_levels_beside_the_baseline_and_skip_all_zero_metrics():
    summary = _stress_summary(
        {
            "spend_usd.total": [4e9, 4.6e9, 3.7e9],
            "idle_spend_usd.trainium": [5e8, 1e8, 9e8],
            "overflow_unit_hours.graviton": [0.0, 0.0, 0.0],
            "utilization.trainium": [0.8, 0.95, 0.6],
        }
    )
    chosen = plots.stress_metrics(summary)
    assert "overflow_unit_hours.graviton" not in chosen  # zero in every case
    assert "idle_spend_usd.trainium" in chosen  # idle dollars per case
    fig, ax = _draw(plots.stress_comparison, summary, "utilization.trainium")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["baseline", "boom", "bust"]
    dots = [line.get_xdata()[0] for line in ax.lines if line.get_marker() == "o"]
    assert dots == pytest.approx([0.8, 0.95, 0.6])  # levels, not only changes
    texts = [t.get_text() for t in ax.texts]
    assert any("+15.0 pp" in t for t in texts) and any("-20.0 pp" in t for t in texts)
    lo, hi = ax.get_xlim()  # every whisker inside, no half-empty symmetric axis
    assert lo < 0.6 * 0.95 and hi > 0.95 * 1.05 and lo > 0.3
    plt.close(fig)


def test_executive_page_numbers_are_recomputed_from_the_runs(run_dir):
    _, out = run_dir
    reps = pd.read_parquet(out / "replications.parquet")
    ex = report.executive_of(out)
    got = {k.label: k for k in ex.numbers}
    total = reps["spend_usd.total"]
    spend = got["Expected spend over 1.2 years"]
    assert spend.value == fmt.usd(total.mean())
    assert fmt.usd(float(np.percentile(total, 10))) in spend.range
    idle = reps[[c for c in reps if c.startswith("idle_spend_usd.")]].sum(axis=1)
    assert got["Paid for idle reserved capacity"].value == fmt.usd(idle.mean())
    share = (reps["spend_usd.shortfall"] > 0.5).mean()
    assert got["Take-or-pay shortfall risk"].value == f"{fmt.pct(share, 0)} of runs"
    assert "Savings rate, trainium" in got and "Savings rate, graviton" in got
    assert any("Reserve trainium: 18.4k chips in year 1, up to 20.5k" in d for d in ex.decision)
    assert any("Commit $4B" in d for d in ex.decision)
    assert len(ex.sentences) == 3 and "only" not in " ".join(ex.sentences)
    assert ex.notes and "3 runs" in ex.notes[0]


def test_executive_names_the_worst_stress_case():
    summary = _stress_summary({"spend_usd.total": [4e9, 4.6e9, 3.7e9]})
    worst = executive.worst_case(summary)
    assert worst == {"case": "boom", "change": pytest.approx(6e8), "relative": pytest.approx(0.15)}


def test_report_opens_with_the_executive_page_prints_and_writes_a_pdf(run_dir, capsys):
    _, out = run_dir
    assert main(["report", str(out), "--pdf"]) == 0
    html = (out / "report.html").read_text()
    assert html.index("class='exec'") < html.index("<figure>")
    assert html.count("<h2>Headline</h2>") == 1  # once, under the executive page
    assert "@media print" in html and "page-break" in html
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    figures = len(list((out / "figures").glob("*.png")))
    assert pages == 1 + figures
    assert "report.pdf" in capsys.readouterr().out


def test_figures_fit_their_frame(run_dir):
    # a deck needs figures of one size: nothing (a long title, a label) may stick out of
    # the 10-inch frame and widen the saved image
    _, out = run_dir
    report.write_report(out)
    from PIL import Image

    for png in (out / "figures").glob("*.png"):
        width, height = Image.open(png).size
        assert width <= 10 * 150 * 1.08, (png.name, width)
        assert height <= 5.6 * 150 * 1.12, (png.name, height)


def test_export_writes_tables_with_units_that_agree_with_the_summary(run_dir, capsys):
    _, out = run_dir
    assert main(["export", str(out)]) == 0
    assert main(["export", str(out), "--format", "xlsx"]) == 0
    summary = store.read_json(out / "summary.json")["metrics"]
    spend = pd.read_csv(out / "export/spend_by_year.csv")
    assert spend["mean spend (USD)"].sum() == pytest.approx(summary["spend_usd.total"]["mean"])
    table = pd.read_csv(out / "export/summary.csv").set_index("metric")
    assert table.loc["spend_usd.total", "unit"] == "USD"
    assert table.loc["idle_unit_hours.trainium", "unit"] == "chip-hours"
    assert table.loc["utilization.trainium", "unit"] == "share 0-1"
    assert {"p10", "p50", "p90"} <= set(table.columns)
    sheets = pd.read_excel(out / "export.xlsx", sheet_name=None)
    assert set(sheets) == {"summary", "spend_by_year", "idle_by_year", "runs"}
    idle = sheets["idle_by_year"]
    got = idle.groupby("pool")["mean idle spend (USD)"].sum()["trainium"]
    assert got == pytest.approx(summary["idle_spend_usd.trainium"]["mean"])
    assert export.metric_unit("wait_hours.pretraining.p95") == "hours"


def test_a_focus_bill_sums_to_each_runs_total_spend(tmp_path):
    # a run with a reserved schedule (used and unused), a savings plan, overflow and a
    # contract discount: EffectiveCost adds up to spend_usd.total run by run; reserved
    # capacity is split into Used and Unused by its unit-hours
    import json

    from sim.focus import FOCUS_COLUMNS

    s = tmp_path / "s.toml"
    s.write_text(
        '[scenario]\nname = "f"\nyears = 0.2\nseed = 2\n[pools.gpu]\nreserved = 12\n'
        "price_per_unit_hour = 1.0\non_demand_price_per_unit_hour = 2.0\n"
        '[[overflow]]\nname = "od"\npool = "gpu"\nprice_per_unit_hour = 2.0\n'
        '[workloads.d]\nkind = "demand"\npool = "gpu"\ndemand_units = 10\nnoise_cv = 0.4\n'
        '[contract]\ndiscount = 0.1\neligible_targets = ["od"]\n'
        '[[commitments]]\nname = "sp"\nkind = "savings_plan"\nusd_per_hour = 1.5\n'
        "covers = { od = 0.7 }\nterm_years = 1\n"
    )
    out = tmp_path / "run"
    assert main(["run", str(s), "-n", "3", "--out", str(out)]) == 0
    assert main(["export", str(out), "--format", "focus"]) == 0
    bill = pd.read_csv(out / "export" / "focus.csv")
    assert list(bill.columns) == FOCUS_COLUMNS
    reps = pd.read_parquet(out / "replications.parquet").set_index("replication")
    total = bill.groupby("x_Replication")["EffectiveCost"].sum()
    assert np.allclose(total.to_numpy(), reps.loc[total.index, "spend_usd.total"].to_numpy())
    reserved = bill[bill["x_Component"] == "reserved"]
    assert set(reserved["CommitmentDiscountStatus"]) == {"Used", "Unused"}
    used = reserved[reserved["CommitmentDiscountStatus"] == "Used"]
    by_rep = used.groupby("x_Replication")["ConsumedQuantity"].sum()
    assert np.allclose(by_rep.to_numpy(), reps.loc[by_rep.index, "used_unit_hours.gpu"].to_numpy())
    overflow = bill[bill["x_Component"] == "overflow"]
    assert np.allclose(overflow["ListCost"], overflow["EffectiveCost"] / 0.9)  # eligible
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["spend_usd.total"]["mean"] > 0


def test_the_workbook_opens_deck_ready(tmp_path):
    # frozen header rows, money in a currency format, dates as dates, columns wide enough
    import openpyxl

    from sim.export import MONEY_FORMAT

    out = tmp_path / "run"
    mmc = Path(__file__).resolve().parents[1] / "configs/examples/mmc.toml"
    assert main(["run", str(mmc), "--set", "scenario.years=0.1", "-n", "2", "--out", str(out)]) == 0
    assert main(["export", str(out), "--format", "xlsx"]) == 0
    book = openpyxl.load_workbook(out / "export.xlsx")
    for ws in book:
        assert ws.freeze_panes == "A2", ws.title
    spend = book["spend_by_year"]
    header = [c.value for c in spend[1]]
    money = header.index("mean spend (USD)") + 1
    assert spend.cell(row=2, column=money).number_format == MONEY_FORMAT
    date = header.index("year_starts") + 1
    assert spend.cell(row=2, column=date).is_date
    assert spend.column_dimensions["A"].width >= len(str(header[0]))


@pytest.mark.parametrize(("paper", "points"), [("a4", (842, 595)), ("letter", (792, 612))])
def test_every_pdf_page_is_the_same_paper(tmp_path, paper, points):
    import re

    out = tmp_path / "run"
    mmc = Path(__file__).resolve().parents[1] / "configs/examples/mmc.toml"
    assert (
        main(["run", str(mmc), "--set", "scenario.years=0.05", "-n", "2", "--out", str(out)]) == 0
    )
    assert main(["report", str(out), "--pdf", "--paper", paper]) == 0
    pdf = (out / "report.pdf").read_bytes()
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
    assert len(boxes) >= 2  # the executive page and the figures
    sizes = {(round(float(w)), round(float(h))) for w, h in boxes}
    assert sizes == {points}, sizes


def test_spend_by_year_rows_add_up_to_the_summary_by_its_names(tmp_path):
    import json

    out = tmp_path / "run"
    base = Path(__file__).resolve().parents[1] / "configs/baseline.toml"
    assert (
        main(["run", str(base), "--set", "scenario.years=0.2", "-n", "2", "--out", str(out)]) == 0
    )
    assert main(["export", str(out)]) == 0
    rows = pd.read_csv(out / "export" / "spend_by_year.csv")
    summary = json.loads((out / "summary.json").read_text())["metrics"]
    sums = rows.groupby("summary_metric")["mean spend (USD)"].sum()
    assert len(sums) >= 4
    for metric, total in sums.items():
        assert total == pytest.approx(summary[metric]["mean"], rel=1e-9, abs=1e-6), metric
    assert rows["mean spend (USD)"].sum() == pytest.approx(
        summary["spend_usd.total"]["mean"], rel=1e-9
    )


def test_thin_parts_of_a_long_spend_legend_are_grouped_as_other():
    rows = []
    sizes = {"a": 100.0, "b": 90.0, "c": 80.0, "d": 70.0, "e": 60.0, "f": 0.5, "g": 0.4, "h": 0.3}
    for t, v in sizes.items():
        for m in range(12):
            rows.append(
                {"replication": 0, "month": m, "month_start": "2026-01-01", "pool": "gpu",
                 "component": "overflow", "target": t, "spend_usd": v}
            )  # fmt: skip
    fig, ax = _draw(plots.spend_by_year, pd.DataFrame(rows))
    labels = ax.get_legend_handles_labels()[1]
    plt.close(fig)
    assert "other (3 small parts)" in labels
    assert not any(lab.endswith((": f", ": g", ": h")) for lab in labels)
    assert len(labels) == 6


DAILY = """
[scenario]
name = "daily"
start = 2026-07-01
years = 0.25
replications = 2
seed = 1

[pools.cpu]
unit = "vcpu"
reserved = 1100
price_per_unit_hour = 1.0

[[overflow]]
name = "on-demand"
pool = "cpu"
price_per_unit_hour = 2.0

[workloads.web]
kind = "demand"
pool = "cpu"
demand_units = 1000
daily_amplitude = 0.25
"""


def test_a_demand_pool_shows_its_daily_range_so_idle_and_overflow_agree(tmp_path):
    """A level of 1000 with a ±25 % daily cycle against 1,100 reserved: the monthly average
    (1000) sits under the contract, yet every afternoon's peak (1250) overflows. The
    figure draws each month's lowest and highest hour (from the time series), and the
    series holds what the cycle says: 1000 × (1 ± 0.25), sampled on the hour."""
    path = tmp_path / "daily.toml"
    path.write_text(DAILY)
    result = run(load_scenario(path), n=2, workers=1)
    ts = result.timeseries
    whole = ts[ts["month"] < ts["month"].max()]  # whole months
    peak = 0.25 * np.cos(np.pi / 24)  # the hour nearest the crest is at most half an hour off
    assert whole["demand_high_units"].between(1000 * (1 + peak) - 1e-6, 1250 + 1e-6).all()
    assert whole["demand_low_units"].between(750 - 1e-6, 1000 * (1 - peak) + 1e-6).all()
    assert (result.replications["idle_unit_hours.cpu"] > 0).all()
    assert (result.replications["overflow_unit_hours.cpu"] > 0).all()
    fig, ax = _draw(plots.utilization_curves, ts, "cpu", "vcpu", queues=False)
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1
    band = hatched[0].get_paths()[0].vertices[:, 1]
    med = ts.groupby("month")[["demand_low_units", "demand_high_units"]].median()
    assert band.max() == pytest.approx(med["demand_high_units"].max())
    assert band.min() == pytest.approx(med["demand_low_units"].min())
    assert ax.get_ylim()[1] > band.max()  # inside the plot
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("lowest to highest hour" in label for label in labels)
    assert not any("queued" in label for label in labels)  # demand never queues
    plt.close(fig)
