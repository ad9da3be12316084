"""``capsim fit``: parameters recovered from histories made by capsim's own generators,
intervals that cover at their nominal rate, the shipped recording's shape, bad logs."""

from __future__ import annotations

import math
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from sim import fit, stress
from sim.cli import main
from sim.history import read_job_log, read_usage
from sim.scenario import load_scenario
from sim.workload import demand_path, draw_params, job_stream, poisson_arrivals
from tests.helpers import build

ROOT = Path(__file__).resolve().parents[1]
MONDAY = datetime(2025, 3, 3)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _stamp(hours: float) -> str:
    return (MONDAY + timedelta(seconds=round(hours * 3600))).isoformat(sep=" ")


# --------------------------------------------------------------------------- arrivals


def test_log_linear_rate_is_the_maximum_of_the_likelihood():
    # an independent optimizer on the same likelihood finds the same (a, b)
    t = poisson_arrivals(np.random.default_rng(5), 4 / 24, 0.5, 2 * 8760)
    f = fit.fit_rate(t)
    x, T = t - f.t0, f.t1 - f.t0

    def nll(p: np.ndarray) -> float:
        a, b = p[0], p[1] / 8760
        return -(len(x) * a + b * x.sum() - math.exp(a) * math.expm1(b * T) / b)

    res = optimize.minimize(
        nll,
        [math.log(len(x) / T), 0.1],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000},
    )
    assert f.a == pytest.approx(res.x[0], abs=1e-4)
    assert f.b * 8760 == pytest.approx(res.x[1], abs=1e-4)


def test_rate_and_growth_intervals_cover_at_their_nominal_rate():
    # 400 histories of 2 years at 3 jobs/day growing 30 %/yr: each 95 % interval should
    # cover the truth in 95 % of them (binomial SE 1.1 %: 0.92-0.98 is ±2.7 SE)
    r0, g, years = 3.0, 0.3, 2.0
    cover_g = cover_r = 0
    n = 400
    for i in range(n):
        t = poisson_arrivals(np.random.default_rng(1000 + i), r0 / 24, g, years * 8760)
        f = fit.fit_rate(t)
        ge = f.growth()
        re = f.rate_per_day(0.0)
        cover_g += ge.low <= g <= ge.high
        cover_r += re.low <= r0 <= re.high
    assert 0.92 <= cover_g / n <= 0.98
    assert 0.92 <= cover_r / n <= 0.98


# --------------------------------------------------------------------------- jobs round trip


TRUTH = {
    "pretraining": {
        "kind": "jobs",
        "pool": "trainium",
        "arrivals_per_day": 2.0,
        "growth_per_year": 0.3,
        "units": {"dist": "choice", "values": [512, 1024, 2048], "weights": [0.5, 0.3, 0.2]},
        "duration_hours": {"dist": "lognormal", "median": 120, "sigma": 0.6},
    },
    "fine-tuning": {
        "kind": "jobs",
        "pool": "trainium",
        "arrivals_per_day": 10.0,
        "growth_per_year": 0.15,
        "units": {"dist": "choice", "values": [32, 64, 128], "weights": [0.4, 0.4, 0.2]},
        "duration_hours": {"dist": "gamma", "mean": 12, "cv": 0.5},
    },
}


@pytest.fixture(scope="module")
def job_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two years of jobs from capsim's own generator, written as a scheduler export with
    timestamps, start/end times (waits of a few hours) and a team column."""
    sc = build(
        {"trainium": {"unit": "chip", "reserved": 4096, "price_per_unit_hour": 1.0}},
        TRUTH,
        years=2.0,
        seed=17,
    )
    js = job_stream(sc, 17, 0, draw_params(sc, 17, 0))
    names = list(TRUTH)
    waits = np.random.default_rng(3).exponential(2.0, len(js))
    rows = ["team,submit,start,end,chips"]
    for s, w, d, u, k in zip(
        js.submit_hours, waits, js.duration_hours, js.units, js.workload, strict=True
    ):
        rows.append(f"{names[k]},{_stamp(s)},{_stamp(s + w)},{_stamp(s + w + d)},{u}")
    path = tmp_path_factory.mktemp("log") / "jobs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fitted_jobs(job_log: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("fit") / "fitted.toml"
    code = main(
        [
            "fit",
            "jobs",
            str(job_log),
            "--workload-column",
            "team",
            "--units-column",
            "chips",
            "--start",
            MONDAY.isoformat(),
            "--pool",
            "trainium",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return {"path": out, "toml": tomllib.loads(out.read_text()), "text": out.read_text()}


def test_job_log_round_trip_recovers_rates_and_growth_within_their_intervals(job_log):
    log = read_job_log(job_log, "team", "chips")
    fits = {f.workload: f for f in fit.fit_jobs(log, at_hours=0.0)}
    assert log.origin == MONDAY and set(fits) == set(TRUTH)
    for name, truth in TRUTH.items():
        f = fits[name]
        r, g = f.arrivals_per_day, f.growth
        assert r.low <= truth["arrivals_per_day"] <= r.high, (name, r)
        assert g.low <= truth["growth_per_year"] <= g.high, (name, g)
        assert not f.daily.present and not f.weekly.present  # none was generated
        assert f.waits is not None and np.median(f.waits) == pytest.approx(
            2 * math.log(2), rel=0.15
        )


def test_job_log_round_trip_recovers_sizes_and_the_duration_law(job_log):
    log = read_job_log(job_log, "team", "chips")
    fits = {f.workload: f for f in fit.fit_jobs(log)}
    for name, truth in TRUTH.items():
        f = fits[name]
        assert f.sizes == truth["units"]["values"]
        for w, p in zip(f.size_weights, truth["units"]["weights"], strict=True):
            assert abs(w - p) < 4 * math.sqrt(p * (1 - p) / f.n)
        best = f.duration_fits[0]
        assert best.dist == truth["duration_hours"]["dist"]
        assert best.verdict == "good"
        if best.dist == "lognormal":  # SE of the log-mean sigma/√n, of sigma sigma/√(2n)
            assert math.log(best.params["median"] / 120) == pytest.approx(
                0, abs=4 * 0.6 / math.sqrt(f.n)
            )
            assert best.params["sigma"] == pytest.approx(0.6, abs=4 * 0.6 / math.sqrt(2 * f.n))
        else:  # mean's SE is mean·cv/√n
            assert best.params["mean"] == pytest.approx(12, abs=4 * 12 * 0.5 / math.sqrt(f.n))
            assert best.params["cv"] == pytest.approx(0.5, rel=0.05)


def test_fragment_is_valid_scenario_toml_with_a_comment_per_value(fitted_jobs):
    doc = fitted_jobs["toml"]
    w = doc["workloads"]["pretraining"]
    assert w["kind"] == "jobs" and w["pool"] == "trainium"
    assert w["duration_hours"]["dist"] == "lognormal"
    assert "max_wait_hours" not in w  # the user's policy, left as a comment
    text = fitted_jobs["text"]
    assert "# max_wait_hours = 24" in text
    assert text.count("95 % CI") >= 4
    assert "KS distance" in text


def test_fragment_merges_over_the_baseline_and_runs(fitted_jobs, capsys):
    code, _, err = _cli(
        ["validate", str(fitted_jobs["path"]), "--base", str(ROOT / "configs/baseline.toml")],
        capsys,
    )
    assert code == 0, err
    base = load_scenario(ROOT / "configs/baseline.toml")
    case = stress.load_case(base, fitted_jobs["path"]).scenario
    w = case.workloads["pretraining"]
    assert w.arrivals_per_day.draw(np.random.default_rng(0)) == pytest.approx(
        fitted_jobs["toml"]["workloads"]["pretraining"]["arrivals_per_day"]
    )
    assert w.max_wait_hours.draw(np.random.default_rng(0)) == 72  # kept from the base


def test_fit_writes_a_report_with_every_figure(fitted_jobs):
    report = fitted_jobs["path"].with_name("fitted-report")
    html = (report / "report.html").read_text()
    stems = sorted(p.stem for p in (report / "figures").glob("*.png"))
    assert len(stems) == 10  # 5 per workload: arrivals, durations QQ, sizes, daily, weekly
    assert html.count("<img") == 10 and "lognormal" in html


def test_uncertain_writes_the_estimation_error_as_distributions(job_log, tmp_path):
    out = tmp_path / "u.toml"
    assert (
        main(
            [
                "fit",
                "jobs",
                str(job_log),
                "--workload-column",
                "team",
                "--units-column",
                "chips",
                "--pool",
                "trainium",
                "--uncertain",
                "--no-report",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    w = tomllib.loads(out.read_text())["workloads"]["fine-tuning"]
    assert w["arrivals_per_day"]["dist"] == "lognormal" and w["arrivals_per_day"]["sigma"] > 0
    assert w["growth_per_year"]["dist"] == "normal" and 0 < w["growth_per_year"]["sd"] < 0.2
    assert not tmp_path.joinpath("u-report").exists()


def test_a_daily_arrival_profile_is_detected_and_reported():
    # thinning a Poisson process by 1 + 0.5 cos(2π(h-14)/24): the χ² test must see it
    rng = np.random.default_rng(9)
    t = np.sort(rng.uniform(0, 200 * 24, 6000))
    keep = rng.uniform(0, 1.5, len(t)) < 1 + 0.5 * np.cos(2 * np.pi * (t % 24 - 14) / 24)
    t = t[keep]
    rate = fit.fit_rate(t)
    prof = fit.arrival_profile(rate, t, 0, "daily")
    assert prof.present
    assert prof.amplitude == pytest.approx(0.5, abs=0.08)
    assert prof.peak == pytest.approx(14.0, abs=1.0)


# --------------------------------------------------------------------------- demand


@pytest.fixture(scope="module")
def usage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """18 months of hourly demand from capsim's own demand model, starting on a Monday."""
    sc = build(
        {"cpu": {"unit": "vcpu", "reserved": 1000, "price_per_unit_hour": 0.02}},
        {
            "web": {
                "kind": "demand",
                "pool": "cpu",
                "demand_units": 1000,
                "growth_per_year": 0.25,
                "daily_amplitude": 0.3,
                "weekly_amplitude": 0.1,
                "noise_cv": 0.05,
            }
        },
        years=1.5,
        seed=4,
    )
    y = demand_path(sc, "web", 4, 0, draw_params(sc, 4, 0))
    frame = pd.DataFrame({"hour": [_stamp(h) for h in range(len(y))], "vcpus": y})
    path = tmp_path_factory.mktemp("usage") / "usage.csv"
    frame.to_csv(path, index=False)
    return path


def test_demand_round_trip_recovers_level_growth_cycles_and_noise(usage, tmp_path):
    out = tmp_path / "web.toml"
    assert (
        main(
            [
                "fit",
                "demand",
                str(usage),
                "--column",
                "vcpus",
                "--workload",
                "web",
                "--pool",
                "cpu",
                "--start",
                MONDAY.isoformat(),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    f = fit.fit_demand(read_usage(usage, "vcpus"), at_hours=0.0)
    assert f.level.low <= 1000 <= f.level.high
    assert f.growth.low <= 0.25 <= f.growth.high and f.growth_usable
    assert f.daily_amplitude.low <= 0.3 <= f.daily_amplitude.high
    assert f.weekly_amplitude.low <= 0.1 <= f.weekly_amplitude.high
    assert f.daily_peak_hour == pytest.approx(14.0, abs=0.25)  # capsim's daily peak
    assert f.weekly_peak_day == pytest.approx(2.5, abs=0.2)  # 2.5 days after a Monday start
    assert f.noise_cv == pytest.approx(0.05, rel=0.15)
    assert not f.replay_better
    w = tomllib.loads(out.read_text())["workloads"]["web"]
    assert "file" not in w and w["daily_amplitude"] == pytest.approx(0.3, abs=0.01)
    assert w["demand_units"] == pytest.approx(1000, rel=0.03)


def test_amplitude_from_log_inverts_the_fourier_series_of_log_one_plus_a_cos():
    x = 2 * np.pi * np.arange(4096) / 4096
    for a in (0.05, 0.3, 0.6, 0.9):
        c = 2 * abs(np.fft.rfft(np.log1p(a * np.cos(x)))[1]) / len(x)
        assert fit.amplitude_from_log(c) == pytest.approx(a, rel=1e-9)


def test_helios_fitted_daily_and_weekly_shape_match_the_recordings_own_averages():
    f = fit.fit_demand(
        read_usage(ROOT / "configs/examples/data/helios-earth-gpu-demand-hourly.csv")
    )
    df = pd.read_csv(
        ROOT / "configs/examples/data/helios-earth-gpu-demand-hourly.csv", parse_dates=["hour"]
    )
    df = df[df["units"] > 0]  # the outage hours, as the fit leaves them out
    checks = (
        (df["hour"].dt.hour, 24, f.daily_amplitude, f.daily_peak_hour, 1.0),
        (df["hour"].dt.day_of_week, 7, f.weekly_amplitude, f.weekly_peak_day, 0.5),
    )
    for key, period, amp, peak, peak_tol in checks:
        means = df.groupby(key)["units"].mean().to_numpy()
        rel = means / means.mean()
        centres = np.arange(period) + 0.5
        z = np.mean((rel - rel.mean()) * np.exp(-2j * np.pi * centres / period))
        own_amp = 2 * abs(z)
        own_peak = (-np.angle(z) / (2 * np.pi) * period) % period
        assert amp.low <= own_amp <= amp.high
        assert abs((peak - own_peak + period / 2) % period - period / 2) <= peak_tol
        curve = 1 + amp.value * np.cos(2 * np.pi * (centres - peak) / period)
        assert np.corrcoef(curve, rel)[0, 1] > 0.85
    assert f.nonpositive == 25  # the documented outage
    assert f.replay_better  # a month with an outage: the recording beats a smooth model


# --------------------------------------------------------------------------- the shipped example


def test_shipped_example_holds_what_capsim_fit_says_about_the_shipped_log(tmp_path):
    out = tmp_path / "fitted.toml"
    assert (
        main(
            [
                "fit",
                "jobs",
                str(ROOT / "configs/examples/data/job-log.csv"),
                "--workload-column",
                "team",
                "--units-column",
                "chips",
                "--start",
                "2026-07-01",
                "--pool",
                "trainium",
                "--out",
                str(out),
                "--no-report",
            ]
        )
        == 0
    )
    fresh = tomllib.loads(out.read_text())["workloads"]
    shipped = tomllib.loads((ROOT / "configs/examples/fitted-jobs.toml").read_text())["workloads"]
    for name, w in fresh.items():
        keys = ("arrivals_per_day", "growth_per_year", "units", "duration_hours")
        keys += tuple(k for k in ("daily_amplitude", "weekly_amplitude") if k in w)
        for key in keys:
            assert shipped[name][key] == w[key], (name, key)
    assert fresh["fine-tuning"]["daily_amplitude"] == pytest.approx(0.6, abs=0.05)  # as made


# --------------------------------------------------------------------------- bad history


BAD_LOGS = [
    (
        "submit,units,duration_hours\n2024-01-01 10:00,8,2\nyesterday,8,2\n",
        "line 3: column 'submit' must be a timestamp",
        [],
    ),
    (
        "submit_hours,units,duration_hours\n1,8,2\n2,8,-1\n",
        "line 3: column 'duration_hours' must be >= 0",
        [],
    ),
    (
        "submit,start,end,units\n2024-01-01 10:00,2024-01-01 11:00,2024-01-01 10:30,8\n",
        "line 2: the job ends 0.5 h before it starts",
        [],
    ),
    (
        "submit_hours,units,duration_hours,team\n1,8,2,a\n2,8,2,\n",
        "line 3: column 'team' is empty",
        ["--workload-column", "team"],
    ),
    ("submit_hours,units,duration_hours\n1,0,2\n", "line 2: column 'units' must be > 0", []),
    ("submit_hours,gpus,duration_hours\n1,8,2\n", "lacks a units column", []),
    ("when,units,duration_hours\n1,8,2\n", "lacks a submit or submit_hours column", []),
    ("submit_hours,units,duration_hours\n1,8,2\n2,8,2\n3,8,2\n", "has 3 jobs with a duration", []),
    ("submit_hours,units,duration_hours\n", "has no data rows", []),
    ("submit_hours,units,duration_hours\n1,8,0\n2,8,0\n", "no job ran for any time", []),
    (
        "submit,units,duration_hours\n2024-01-01T10:00:00Z,8,2\n2024-01-01 11:00,8,2\n",
        "line 3: column 'submit' mixes timestamps with and without a time zone",
        [],
    ),
]


@pytest.mark.parametrize(("text", "message", "extra"), BAD_LOGS)
def test_bad_job_logs_exit_2_naming_file_line_and_column(text, message, extra, tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text(text)
    code, _, err = _cli(
        ["fit", "jobs", str(log), "--out", str(tmp_path / "f.toml"), *extra], capsys
    )
    assert code == 2
    assert message in err and "log.csv" in err and "Traceback" not in err
    assert not (tmp_path / "f.toml").exists() and not (tmp_path / "f-report").exists()


def test_usage_rows_must_be_one_hour_apart(tmp_path, capsys):
    rows = ["hour,units"] + [f"{_stamp(h)},5" for h in range(60)]
    rows[31] = f"{_stamp(33)},5"
    (tmp_path / "u.csv").write_text("\n".join(rows) + "\n")
    code, _, err = _cli(
        ["fit", "demand", str(tmp_path / "u.csv"), "--out", str(tmp_path / "f.toml")], capsys
    )
    assert code == 2 and "line 32" in err and "one hour apart" in err


def test_fit_never_overwrites_without_force(job_log, tmp_path, capsys):
    out = tmp_path / "f.toml"
    out.write_text("# mine\n")
    code, _, err = _cli(["fit", "jobs", str(job_log), "--out", str(out)], capsys)
    assert code == 2 and "--force" in err
    assert out.read_text() == "# mine\n"


def test_job_arrivals_follow_a_daily_and_weekly_cycle_and_the_fit_recovers_it(tmp_path):
    # capsim's own generator with a daily swing of 0.5 (peak 14:00) and a weekly one of 0.3
    wl = dict(
        TRUTH["fine-tuning"],
        arrivals_per_day=40.0,
        growth_per_year=0.0,
        daily_amplitude=0.5,
        weekly_amplitude=0.3,
    )
    sc = build(
        {"trainium": {"unit": "chip", "reserved": 64, "price_per_unit_hour": 1.0}},
        {"ft": wl},
        years=1.0,
        seed=21,
    )
    js = job_stream(sc, 21, 0, draw_params(sc, 21, 0))
    t = js.submit_hours
    hours = np.bincount((t % 24).astype(int), minlength=24)
    expected = 1 + 0.5 * np.cos(2 * np.pi * (np.arange(24) + 0.5 - 14) / 24)
    expected = expected / expected.sum() * len(t)
    chi2 = float(((hours - expected) ** 2 / expected).sum())
    assert chi2 < 60  # 23 dof: p ~ 4e-5; a wrong phase or amplitude gives thousands
    log = tmp_path / "log.csv"
    rows = ["submit_hours,units,duration_hours"] + [
        f"{s:.6f},{u},{d:.4f}" for s, u, d in zip(t, js.units, js.duration_hours, strict=True)
    ]
    log.write_text("\n".join(rows) + "\n")
    (f,) = fit.fit_jobs(read_job_log(log))
    assert f.daily.present and f.weekly.present
    se = 2 / np.sqrt(len(t))  # SE of a first-harmonic amplitude of n Poisson points
    assert f.daily.amplitude == pytest.approx(0.5, abs=4 * se + 0.01)
    assert f.daily.peak == pytest.approx(14.0, abs=0.5)
    assert f.weekly.amplitude == pytest.approx(0.3, abs=4 * se + 0.01)
    assert f.weekly.peak == pytest.approx(2.5, abs=0.3)  # days after hour 0
    text = fit.jobs_fragment([f], "log.csv", "trainium", "hour 0", "x")
    assert "daily_amplitude = 0.5" in text or "daily_amplitude = 0.4" in text


def test_a_usage_series_without_demand_is_refused_not_a_traceback(tmp_path, capsys):
    (tmp_path / "u.csv").write_text("units\n" + "0\n" * 100)
    code, _, err = _cli(
        ["fit", "demand", str(tmp_path / "u.csv"), "--out", str(tmp_path / "f.toml")], capsys
    )
    assert code == 2 and "0 hours with demand above zero" in err and "Traceback" not in err


def test_uncertain_rate_and_growth_keep_their_correlation_three_years_ahead(tmp_path):
    # a two-year log growing 40 % a year: the fitted log-rate and growth are strongly
    # correlated; drawn independently at the scenario's start (the old fragment) the rate
    # three years ahead spread ~19 % too little. The fragment quotes the rate where the two
    # estimates are uncorrelated; the drawn future log-rate's sd must match the Fisher one.
    from sim.fit.fragment import jobs_fragment
    from sim.workload import draw_params, start_rate

    rng = np.random.default_rng(5)
    span = 2 * 8760.0
    b = math.log(1.4) / 8760
    # inhomogeneous Poisson by inversion: Λ(t) = e^a (e^{bt} − 1) / b, 3000 jobs
    u = np.sort(rng.uniform(0, 1, 3000))
    times = np.log1p(u * np.expm1(b * span)) / b
    rate = fit.fit_rate(times, 0.0, span)
    f = fit.JobsFit(
        workload="w", n=len(times), times=times, rate=rate, at_hours=span,
        arrivals_per_day=rate.rate_per_day(span), growth=rate.growth(), years=None,
        daily=fit.arrival_profile(rate, times, 0, "daily"),
        weekly=fit.arrival_profile(rate, times, 0, "weekly"),
        sizes=[1.0], size_weights=[1.0], durations=np.ones(10),
        duration_fits=fit.fit_positive(rng.lognormal(0, 1, 200)), waits=None,
    )  # fmt: skip
    corr = rate.cov[0, 1] / math.sqrt(rate.cov[0, 0] * rate.cov[1, 1])
    at_end = np.array([1.0, span])
    corr_end = (at_end @ rate.cov)[1] / math.sqrt(at_end @ rate.cov @ at_end * rate.cov[1, 1])
    assert abs(corr_end) > 0.5  # the quoted-at-start estimates are correlated
    text = jobs_fragment([f], "log.csv", "gpu", "the log's end", "fitted", uncertain=True)
    assert "rate_at_years = " in text and abs(corr) > 0.5
    fragment = tmp_path / "f.toml"
    fragment.write_text(text)
    base = tmp_path / "base.toml"
    base.write_text(
        '[scenario]\nname = "b"\nyears = 1\n[pools.gpu]\nreserved = 1\nprice_per_unit_hour = 1\n'
        '[workloads.w]\nkind = "jobs"\npool = "gpu"\narrivals_per_day = 1\nunits = 1\n'
        "duration_hours = 1\n"
    )
    from sim.scenario import load_scenario
    from sim.stress import load_case

    sc = load_case(load_scenario(base), fragment).scenario
    w = sc.workloads["w"]
    ahead = 3.0  # years after the log's end (the scenario's start)
    log_rates = []
    for i in range(4000):
        p = draw_params(sc, 1, i)
        g = p[w.growth_per_year[0].path]
        log_rates.append(math.log(24 * start_rate(w, p) * (1 + g) ** ahead))
    x = np.array([1.0, span + ahead * 8760])
    fisher_sd = math.sqrt(x @ rate.cov @ x)
    assert np.std(log_rates) == pytest.approx(fisher_sd, rel=0.06)
    want = math.log(24) + rate.a + rate.b * x[1]  # per day
    assert np.mean(log_rates) == pytest.approx(want, abs=0.1 * fisher_sd + 0.02)


def test_a_weekly_amplitude_is_not_shrunk_by_its_day_bins():
    # thinning by 1 + 0.5 cos(2π(t − 3.5 d)/week): seven day bins average the cosine over each
    # day and shrank the amplitude by sinc(π/7) (0.477 for 0.5); corrected, 0.5 within 3 SE
    rng = np.random.default_rng(4)
    week = 7 * 24.0
    t = np.sort(rng.uniform(0, 150 * week, 300_000))
    keep = rng.uniform(0, 1.5, len(t)) < 1 + 0.5 * np.cos(2 * np.pi * (t - 3.5 * 24) / week)
    t = t[keep]
    prof = fit.arrival_profile(fit.fit_rate(t), t, 0, "weekly")
    assert prof.amplitude == pytest.approx(0.5, abs=0.012)


def _log(tmp_path, rows, name="log.csv"):
    path = tmp_path / name
    path.write_text(
        "submit_hours,units,duration_hours\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    )
    return path


def test_a_log_of_equal_durations_gets_a_fixed_duration(tmp_path, capsys):
    # a gamma fit of equal values is NaN: the old fit crashed with a traceback
    rng = np.random.default_rng(2)
    times = np.sort(rng.uniform(0, 24 * 60, 400))
    log = _log(tmp_path, [(f"{t:.4f}", 2, 4) for t in times])
    out = tmp_path / "f.toml"
    assert main(["fit", "jobs", str(log), "--out", str(out), "--no-report"]) == 0
    w = tomllib.loads(out.read_text())["workloads"]["log"]
    assert w["duration_hours"] == {"dist": "fixed", "value": 4}
    assert "a fixed duration" in out.read_text()


@pytest.mark.parametrize("value", ["3e300", "1e16"])
def test_absurd_magnitudes_in_a_log_are_refused_by_line(tmp_path, capsys, value):
    rows = [(i * 3.0, 1, 2.0) for i in range(200)]
    rows[7] = (value, 1, 2.0)
    log = _log(tmp_path, rows)
    code = main(["fit", "jobs", str(log), "--out", str(tmp_path / "f.toml"), "--no-report"])
    err = capsys.readouterr().err
    assert code == 2 and "at most 1e+15" in err and "Traceback" not in err
    assert not (tmp_path / "f.toml").exists()


def test_fit_force_replaces_its_own_fragment_but_never_a_users_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0, 24 * 60, 300))
    log = _log(
        tmp_path,
        [(f"{t:.4f}", 1, f"{d:.3f}") for t, d in zip(times, rng.gamma(2, 2, 300), strict=True)],
    )
    out = tmp_path / "f.toml"
    out.write_text("[scenario]\nname = 'mine'  # a user's own scenario\n")
    args = ["fit", "jobs", str(log), "--out", str(out), "--no-report", "--force"]
    assert main(args) == 2 and "not capsim's" in capsys.readouterr().err
    assert "a user's own scenario" in out.read_text()
    out.unlink()
    assert main(args) == 0
    assert main(args) == 0  # capsim's own fragment is replaced


def test_fit_demand_reads_a_focus_export(tmp_path, capsys):
    # a daily FOCUS export of two services: the chosen one's ConsumedQuantity, spread over
    # each day's hours, is the usage; its hourly series is written beside the fragment
    rng = np.random.default_rng(8)
    rows = ["ChargePeriodStart,ChargePeriodEnd,ServiceName,ConsumedQuantity,BilledCost"]
    day0 = datetime(2026, 1, 1)
    for d in range(90):
        start, end = day0 + timedelta(days=d), day0 + timedelta(days=d + 1)
        level = 100.0 * (1 + 0.05 * rng.standard_normal())
        rows.append(f"{start:%Y-%m-%dT%H:%M:%S},{end:%Y-%m-%dT%H:%M:%S},ec2,{24 * level},1")
        rows.append(f"{start:%Y-%m-%dT%H:%M:%S},{end:%Y-%m-%dT%H:%M:%S},s3,{999},1")
    focus = tmp_path / "focus.csv"
    focus.write_text("\n".join(rows) + "\n")
    out = tmp_path / "d.toml"
    args = ["fit", "demand", str(focus), "--out", str(out), "--no-report"]
    assert main(args) == 2 and "--service" in capsys.readouterr().err  # two services: which?
    assert main([*args, "--service", "ec2"]) == 0
    usage = pd.read_csv(tmp_path / "d-usage.csv")["units"].to_numpy()
    assert len(usage) == 90 * 24
    assert np.allclose(usage[:24], usage[0]) and abs(usage.mean() - 100) < 3
    w = next(iter(tomllib.loads(out.read_text())["workloads"].values()))
    level = w.get("demand_units")
    assert level is None or abs(float(level) - 100) < 5
