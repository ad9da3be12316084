"""The shape of the house: one time axis, and the core stays silent."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"


def test_only_the_calendar_defines_the_time_axis():
    offenders = []
    for path in sorted(SIM.glob("**/*.py")):
        if path.name == "calendar.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if {"HOURS_PER_YEAR", "HOURS_PER_MONTH"} & set(names):
                    offenders.append(f"{path.name}:{node.lineno} defines {names}")
            if isinstance(node, ast.Constant) and node.value in (8760, 8760.0, 730, 730.0):
                offenders.append(f"{path.name}:{node.lineno} uses the literal {node.value}")
            if isinstance(node, ast.FunctionDef) and node.name in (
                "month_edges",
                "hours_in_horizon",
                "month_mid_hours",
            ):
                offenders.append(f"{path.name}:{node.lineno} defines {node.name}")
    assert not offenders, offenders


def test_every_option_and_argument_of_the_command_line_has_help():
    import argparse

    from sim.cli import build_parser

    missing: list[str] = []
    seen: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help:
                missing.append(f"{prefix} {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    seen.append(f"{prefix} {name}".strip())
                    walk(sub, f"{prefix} {name}".strip())

    walk(build_parser(), "")
    assert "fit jobs" in seen and "fit demand" in seen  # nested commands are checked too
    assert not missing, missing


def test_metric_labels_and_units_have_one_source():
    from sim import cli, export, fmt, plots

    metrics = [
        "spend_usd.total",
        "idle_spend_usd.trainium",
        "wait_hours.pretraining.p95",
        "utilization.trainium",
        "overflow_unit_hours.graviton",
        "esr",
    ]
    for m in metrics:
        assert cli._metric_label(m) == plots._metric_label(m) == fmt.metric_label(m)
    assert export.metric_unit is fmt.metric_unit
    assert fmt.metric_label("idle_unit_hours.trainium", units={"trainium": "chip"}) == (
        "idle chip-hours, trainium"
    )
    assert fmt.metric_label("spend_usd.total") == "total spend (USD)"
