"""capsim: Monte Carlo simulation of multi-year reserved cloud-compute contracts.

>>> import sim
>>> scenario = sim.load_scenario("configs/baseline.toml")        # doctest: +SKIP
>>> result = sim.run(scenario, n=8)                             # doctest: +SKIP
>>> result.summary()["spend_usd.total"]["mean"]                 # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from sim.errors import ScenarioError
from sim.montecarlo import run, run_replication
from sim.results import RunResult, summarize
from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides

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
