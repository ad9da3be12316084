"""capsim: Monte Carlo simulation of multi-year reserved cloud-compute contracts.

>>> import sim
>>> scenario = sim.load_scenario("configs/baseline.toml")        # doctest: +SKIP
>>> result = sim.run(scenario, n=8)                             # doctest: +SKIP
>>> result.summary()["spend_usd.total"]["mean"]                 # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from sim.errors import ScenarioError

# the public API, imported on first use: `capsim --version` and a worker's start-up do not
# pay for pandas and scipy before they need them
_LAZY = {
    "run": "sim.montecarlo",
    "run_replication": "sim.montecarlo",
    "RunResult": "sim.results",
    "summarize": "sim.results",
    "Scenario": "sim.scenario",
    "load_scenario": "sim.scenario",
    "scenario_from_dict": "sim.scenario",
    "with_overrides": "sim.scenario",
}

if TYPE_CHECKING:  # pragma: no cover
    __version__: str
    from sim.montecarlo import run, run_replication
    from sim.results import RunResult, summarize
    from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides


def _version() -> str:
    """The installed version (read on first use: importlib.metadata costs 25 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("capsim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run",
    "run_replication",
    "scenario_from_dict",
    "summarize",
    "with_overrides",
]
