"""Figures and reports: each figure renders from a small result, has labelled axes with
units, is not blank; the HTML report embeds every figure; the CLI writes them."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sim import grid, plots, report, store, stress, sweep
from sim.cli import main
from sim.montecarlo import run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    sc = load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=1.2"])
    result = run(sc, n=3, seed=2, workers=1)
    out = tmp_path_factory.mktemp("run")
    store.write_run(out, result, "test")
    return result, out


def _not_blank(ax):
    fig = ax.figure
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    # a blank figure is one colour; a drawn one has many
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20
    assert ax.get_title(loc="left") or ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()


def test_run_figures_render_with_units(small_run):
    result, _ = small_run
    with plots.style():
        for draw, unit_word in [
            (
                lambda ax: plots.utilization_curves(
                    result.timeseries, "trainium", "chip", 1.2 * 8760, ax
                ),
                "chip",
            ),
            (
                lambda ax: plots.idle_by_year(result.timeseries, "trainium", "chip", ax),
                "USD",
            ),
            (lambda ax: plots.spend_by_year(result.spend, ax), "USD"),
            (lambda ax: plots.wait_cdf(result.waits, ax), "hours"),
            (lambda ax: plots.spend_distribution(result.replications, ax), "USD"),
        ]:
            fig, ax = plt.subplots()
            assert draw(ax) is ax
            _not_blank(ax)
            assert unit_word in ax.get_xlabel() + ax.get_ylabel()
            plt.close(fig)


def test_money_axes_read_like_money(small_run):
    result, _ = small_run
    with plots.style():
        fig, ax = plt.subplots()
        plots.spend_by_year(result.spend, ax)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels and all(re.fullmatch(r"-?\$[0-9.]+[kMBT]?", s) for s in labels), labels
        plt.close(fig)


def test_utilization_curve_shows_the_reserved_schedule(small_run):
    result, _ = small_run
    fig, ax = plt.subplots()
    plots.utilization_curves(result.timeseries, "trainium", "chip", 1.2 * 8760, ax)
    steps = [p for p in ax.patches if p.get_label() == "reserved (contract)"]
    assert steps, "the reserved step line is drawn"
    levels = set(np.round(steps[0].get_data().values))
    assert {18432.0, 20480.0} <= levels  # the contract's first two years
    plt.close(fig)


def test_run_report_embeds_every_figure(small_run):
    _, out = small_run
    page = report.write_report(out)
    html = page.read_text()
    pngs = sorted((out / "figures").glob("*.png"))
    svgs = sorted((out / "figures").glob("*.svg"))
    assert len(pngs) == len(svgs) >= 6
    assert html.count("data:image/png;base64,") == len(pngs)
    assert "total spend (USD)" in html and "[pools.trainium]" in html  # labels, not keys
    assert "<details>" in html  # the scenario file folded away
    # self-contained: nothing is fetched (base64 data may contain any letters, so look at tags)
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)=['"]?(https?:|//)""", html)


def test_sweep_and_stress_reports(tmp_path):
    sc = load_scenario(ROOT / "configs/examples/helios-demand.toml", ["scenario.years=0.1"])
    res = sweep.run_sweep(
        sc,
        [grid.parse_vary("pools.gpu.reserved=400:800:100")],
        3,
        1,
        constraints=[sweep.parse_constraint("utilization.gpu>=0.9")],
    )
    store.write_sweep(tmp_path / "sw", res.points, res.summary, sc)
    page = report.write_report(tmp_path / "sw").read_text()
    assert page.count("data:image/png") == 2 and "Recommended" in page  # frontier, constraint
    fig, ax = plt.subplots()
    plots.sweep_frontier(res.points, res.summary, ax=ax)
    _not_blank(ax)
    assert any(p.get_label() == "breaks a constraint" for p in ax.patches)  # shaded sizes
    plt.close(fig)

    base = load_scenario(ROOT / "configs/baseline.toml", ["scenario.years=0.1"])
    st = stress.run_stress(base, [ROOT / "configs/stress/demand-bust.toml"], 2, 1)
    store.write_stress(tmp_path / "st", st.cases, st.summary, base)
    page = report.write_report(tmp_path / "st").read_text()
    assert page.count("data:image/png") == len(plots.stress_metrics(st.summary))
    assert "demand-bust" in page


def test_cli_run_writes_the_run_directory_and_report(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(
        [
            "run",
            str(ROOT / "configs/examples/mmc.toml"),
            "-n",
            "3",
            "--workers",
            "1",
            "--set",
            "scenario.years=0.05",
            "--out",
            str(out),
            "--record-jobs",
            "--report",
        ]
    )
    assert code == 0
    for f in (
        "summary.json",
        "replications.parquet",
        "timeseries.parquet",
        "jobs.parquet",
        "scenario.toml",
        "spend.parquet",
        "waits.parquet",
        "report.html",
    ):
        assert (out / f).exists(), f
    summary = store.read_json(out / "summary.json")
    assert set(summary) == {"scenario", "replications", "seed", "version", "metrics", "adjusted"}
    assert set(summary["metrics"]["spend_usd.total"]) == {
        "mean",
        "sd",
        "ci95_low",
        "ci95_high",
        "p5",
        "p10",
        "p50",
        "p90",
        "p95",
    }
    ts = pd.read_parquet(out / "timeseries.parquet")
    for col in (
        "replication",
        "pool",
        "month",
        "reserved_unit_hours",
        "used_unit_hours",
        "idle_unit_hours",
        "overflow_unit_hours",
        "demand_unit_hours",
        "spend_usd",
    ):
        assert col in ts.columns
    jobs = pd.read_parquet(out / "jobs.parquet")
    assert list(jobs.columns) == [
        "replication",
        "workload",
        "job",
        "submit_hours",
        "start_hours",
        "end_hours",
        "wait_hours",
        "units",
        "ran_on",
    ]
    assert load_scenario(out / "scenario.toml").horizon_hours == pytest.approx(0.05 * 8760)
    assert "total spend" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope.toml"], "nope.toml: no such file"),
        (
            ["run", "configs/examples/mmc.toml", "--set", "pools.gpu.reservd=3"],
            'did you mean "reserved"',
        ),
        (["run", "configs/examples/mmc.toml", "-n", "0"], "must be >= 1"),
        (
            ["sweep", "configs/examples/mmc.toml", "--vary", "pools.gpu.reserved=5:1:1"],
            "STOP >= START",
        ),
        (["report", "configs"], "not a capsim run, sweep, stress, compare or optimize directory"),
    ],
)
def test_cli_errors_exit_2_with_one_clear_line(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_run_report_opens_with_a_headline_in_people_units(small_run):
    _, out = small_run
    html = report.write_report(out).read_text()
    head = html.split("<h2>Headline</h2>")[1].split("</ul>")[0]
    assert html.index("<h2>Headline</h2>") < html.index("<figure>")  # first thing a reader sees
    assert re.search(r"Total spend over the term</b>: \$[0-9.]+[kMB]", head)
    assert re.search(r"Utilization, trainium</b>: [0-9.]+%", head)


def test_money_below_half_a_cent_reads_as_zero():
    from sim import fmt

    assert fmt.usd(8.78e-08) == "$0" and fmt.usd(-3e-7) == "$0"
    assert fmt.usd(0.01) == "$0.01" and fmt.usd(4.3e9) == "$4.3B"


def test_a_run_prints_idle_capacity_by_contract_year(tmp_path):
    # recomputed from the timeseries frame: the terminal's idle-by-year is the mean over runs
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "sim", "run", "configs/examples/mmc.toml", "--set",
         "scenario.years=2", "-n", "3", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0
    assert "idle reserved capacity by contract year" in r.stdout
    ts = pd.read_parquet(out / "timeseries.parquet")
    year2 = ts[ts["month"] // 12 == 1].groupby("replication")["idle_spend_usd"].sum().mean()
    from sim import fmt

    row = next(line for line in r.stdout.splitlines() if "│ gpu  │    2 │" in line)
    assert fmt.usd(year2) in row


def test_the_waits_figure_marks_the_tables_p95_from_the_binned_waits():
    # the ▲ of the waits figure is each run's P95 averaged, as the tables show it; read from
    # the histogram (10 bins a decade) it lies within one bin of the exact per-run value
    import pandas as pd

    import sim
    from sim.plots.run import run_p95

    sc = sim.load_scenario(ROOT / "configs/examples/mmc.toml", ["scenario.years=0.3"])
    r = sim.run(sc, n=4, workers=1)
    waits = r.waits
    assert waits is not None
    exact = float(pd.Series(r.replications["wait_hours.jobs.p95"]).mean())
    drawn = run_p95(waits[waits["workload"] == "jobs"])
    assert exact > 0.1
    assert exact / 10**0.1 <= drawn <= exact * 10**0.1 + 1e-9, (drawn, exact)
