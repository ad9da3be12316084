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
        assert fmt.metric_label(m)  # the one source of labels: no module keeps its own
    assert not hasattr(cli, "_metric_label") and not hasattr(plots, "_metric_label")
    assert export.metric_unit is fmt.metric_unit
    assert fmt.metric_label("idle_unit_hours.trainium", units={"trainium": "chip"}) == (
        "idle chip-hours, trainium"
    )
    assert fmt.metric_label("spend_usd.total") == "total spend (USD)"


# The house in layers: a module may import only from layers below its own (docs/design.md).
# Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not counted.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "calendar", "distributions", "catalogue"),
    ("fmt",),
    ("scenario", "intensity", "variance"),
    ("contract", "tranches", "workload", "grid", "history"),
    ("engine",),
    ("controls", "metrics"),
    ("results", "executor"),
    ("montecarlo",),
    ("batch",),
    ("sweep",),
    ("stress", "optimize"),
    ("compare",),
    ("store", "plots", "executive", "schema", "fit"),
    ("export", "focus", "report"),
    ("cli",),
]
# Registries that lower layers read, and the layer they sit in: the queue-policy registry is
# read by the scenario model, so it (and what it imports) stays below the scenario layer.
REGISTRIES: dict[str, int] = {"sim.engine.policies": 1}
# inside the packages, the same rule between their modules
PACKAGE_LAYERS: dict[str, list[tuple[str, ...]]] = {
    "engine": [
        ("states", "eventheap", "native", "model"),
        ("clock", "queues", "jobs", "strategies", "books"),
        ("backfill",),
        ("policies",),
        ("dispatch",),
        ("overflow",),
        ("demand",),
        ("core",),
        ("__init__",),
    ],
    "scenario": [
        ("model",),
        ("values",),
        ("files", "leaves"),
        ("dists",),
        ("doc_supply", "doc_demand", "doc_commit"),
        ("document",),
        ("tables",),
        ("supply", "demand", "commit"),
        ("build",),
        ("load",),
        ("__init__",),
    ],
}


def _runtime_imports(path: Path) -> set[str]:
    """Modules of ``sim`` imported at run time (not only for type checking)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sim":
            if node.module == "sim":
                found |= {f"sim.{a.name}" for a in node.names if a.name != "__version__"}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sim.")}
    return found


def _layer_of(layers: list[tuple[str, ...]], name: str) -> int | None:
    for i, names in enumerate(layers):
        if name in names:
            return i
    return None


def test_every_module_has_a_layer():
    tops = {p.stem for p in SIM.glob("*.py")} | {p.name for p in SIM.iterdir() if p.is_dir()}
    tops -= {"__init__", "__main__", "__pycache__"}
    assert tops == {n for names in LAYERS for n in names}
    for pkg, layers in PACKAGE_LAYERS.items():
        assert {p.stem for p in (SIM / pkg).glob("*.py")} == {n for ns in layers for n in ns}


def test_modules_import_only_from_layers_below():
    offenders = []
    for path in sorted(SIM.glob("**/*.py")):
        rel = path.relative_to(SIM).with_suffix("")
        parts = rel.parts
        if parts[0] in ("__init__", "__main__"):
            continue  # the facade (sim.run, sim.load_scenario) and python -m sim
        mine = _layer_of(LAYERS, parts[0])
        for mod in _runtime_imports(path):
            target = mod.split(".")
            if target[1] == parts[0]:
                if parts[0] in PACKAGE_LAYERS and len(target) > 2 and len(parts) > 1:
                    inner = PACKAGE_LAYERS[parts[0]]
                    a, b = _layer_of(inner, parts[1]), _layer_of(inner, target[2])
                    if a is None or b is None or b >= a:
                        offenders.append(f"{'/'.join(parts)} imports {mod}")
                continue
            theirs = REGISTRIES.get(mod, _layer_of(LAYERS, target[1]))
            if mine is None or theirs is None or theirs >= mine:
                offenders.append(f"{'/'.join(parts)} imports {mod}")
    assert not offenders, offenders


def test_a_registry_imports_only_what_sits_below_its_readers():
    """What a registry imports at run time (followed through the engine's own modules)
    is in the lowest layer, or the engine's modules the registry is made of: reading it
    from the scenario layer cannot load the engine, which builds on the scenario."""
    for registry, layer in REGISTRIES.items():
        seen: set[str] = set()
        todo = [registry]
        while todo:
            mod = todo.pop()
            if mod in seen:
                continue
            seen.add(mod)
            path = SIM.parent / (mod.replace(".", "/") + ".py")
            for dep in _runtime_imports(path):
                top = dep.split(".")[1]
                if top == "engine":
                    todo.append(dep)
                else:
                    assert (_layer_of(LAYERS, top) or 0) <= layer, f"{mod} imports {dep}"
        # the engine proper (its core, the job columns built on sim.workload) stays out
        assert "sim.engine.core" not in seen and "sim.engine.jobs" not in seen, seen


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "engine_core.py"
    bad.write_text("from sim.metrics import compute\nfrom typing import TYPE_CHECKING\n")
    assert _runtime_imports(bad) == {"sim.metrics"}
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sim.cli import main\n"
    )
    assert _runtime_imports(guarded) == set()
    layer = _layer_of(LAYERS, "engine")
    assert layer is not None and _layer_of(LAYERS, "metrics") > layer


def test_rooms_stay_small():
    """No module much over 400 lines, no function much over 80 (docs/design.md): a file
    that grows past this is a concept that wants splitting."""
    big = []
    for path in sorted(SIM.glob("**/*.py")):
        text = path.read_text()
        rel = path.relative_to(SIM)
        if text.count("\n") > 450:
            big.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 90:
                    big.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert not big, big


def test_queue_policies_are_named_once_and_read_from_the_registry():
    # there were two lists no test tied: forgetting one made a run die with a KeyError
    from sim.engine.policies import QUEUE_POLICIES, describe
    from sim.engine.queues import QueuePolicy
    from sim.scenario import QUEUES
    from sim.schema import scenario_schema

    assert tuple(QUEUE_POLICIES) == QUEUES
    for name, cls in QUEUE_POLICIES.items():
        assert issubclass(cls, QueuePolicy) and cls.name == name
        assert describe(name)  # the schema's and the docs' description of it
    queue = scenario_schema()["definitions"]["PolicyDoc"]["properties"]["queue"]
    assert queue["enum"] == list(QUEUE_POLICIES)
    assert all(describe(n) in queue["description"] for n in QUEUE_POLICIES)


# Privacy: a name another module imports is public (no leading underscore) and documented.
def _definitions() -> dict[tuple[str, str], bool]:
    """(module, name) of every top-level function and class in sim → whether it has a
    docstring."""
    out = {}
    for path in SIM.rglob("*.py"):
        mod = ".".join(path.relative_to(SIM.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                out[(mod, node.name)] = ast.get_docstring(node) is not None
    return out


def _imported_names() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(SIM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
                found |= {(node.module or "", a.name) for a in node.names}
    return found


def test_what_another_module_imports_is_documented():
    defined = _definitions()
    bare = sorted(f"{m}.{n}" for m, n in _imported_names() if defined.get((m, n)) is False)
    assert not bare, f"give these a docstring: {bare}"


def _private_imports() -> set[str]:
    return {
        f"{m}.{n}" for m, n in _imported_names() if n.startswith("_") and not n.startswith("__")
    }


def test_no_module_takes_another_modules_private_names():
    found = sorted(_private_imports())
    assert not found, f"make these public (no underscore, documented) instead: {found}"


def test_reading_the_scenario_loads_the_registry_not_the_engine():
    """The scenario model reads the queue-policy registry; the engine proper (which builds
    on the scenario's types through sim.workload) loads only when first used: an eager
    import there would be an import cycle, and would slow every start-up."""
    import subprocess
    import sys

    code = (
        "import sys, sim.scenario\n"
        "print(sorted(m for m in ('sim.engine.policies', 'sim.engine.core', 'sim.workload')"
        " if m in sys.modules))\n"
        "from sim.engine import simulate, EngineInput\n"
        "print('sim.engine.core' in sys.modules, callable(simulate), EngineInput.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines() == ["['sim.engine.policies']", "True True EngineInput"]
