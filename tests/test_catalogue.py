"""The metric catalogue: one entry per metric family, read by labels, units and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim import catalogue, fmt

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = {"pool": "trn", "target": "od", "workload": "train", "commitment": "ladder",
           "strategy": "yearly", "stat": "p95", "k": "3"}  # fmt: skip


def example(entry: catalogue.Metric) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: EXAMPLE[m.group(1)], entry.pattern)


@pytest.mark.parametrize("entry", catalogue.CATALOGUE, ids=lambda e: e.pattern)
def test_each_entry_finds_itself_and_says_its_unit(entry):
    name = example(entry)
    found = catalogue.find(name)
    assert found is not None and found[0] is entry  # no earlier entry shadows it
    assert fmt.metric_unit(name) and entry.meaning
    assert "{" not in fmt.metric_label(name)


def test_unit_hours_are_in_the_pools_unit_and_money_is_dollars():
    units = {"trainium": "chip", "pretraining": "chip", "cb": "chip"}
    assert fmt.metric_label("idle_unit_hours.trainium", units=units) == "idle chip-hours, trainium"
    assert fmt.metric_unit("overflow_unit_hours.target.cb", units) == "chip-hours"
    assert fmt.metric_unit("unfinished_unit_hours.pretraining", units) == "chip-hours"
    # metrics the old prefix rules gave no unit: lock-in was shown as a bare number
    assert fmt.metric_unit("locked_in_usd.year2") == "USD"
    assert fmt.metric_value(2.5e9, "locked_in_usd.year2") == "$2.5B"
    assert fmt.metric_label("locked_in_usd.year2") == "locked in, year 2 (USD)"
    assert (
        fmt.is_rate("sp_utilization.plan") and fmt.metric_value(0.5, "sp_utilization.p") == "50.0%"
    )
    assert catalogue.find("spend_usd.nonsense.x") is None


def test_the_metric_table_in_docs_is_the_catalogue():
    text = (ROOT / "docs/scenario.md").read_text()
    begin, end = (
        "<!-- metric table: generated from sim/catalogue.py by make readme -->\n",
        ("<!-- end of metric table -->"),
    )
    assert begin in text and end in text
    table = text.split(begin, 1)[1].split(end, 1)[0]
    assert table == catalogue.markdown_table()
