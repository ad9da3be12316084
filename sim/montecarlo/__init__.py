"""Monte Carlo replications of a scenario, on local processes.

Replication ``i`` draws everything from ``SeedSequence(seed, spawn_key=(i, ...))``
(see :mod:`sim.workload`), so results are identical whatever the number of workers
or the order in which replications finish.

Modules: ``inputs`` (engine input), ``frames`` and ``runner``; the control variates are
:mod:`sim.controls`.
"""

from __future__ import annotations

from sim.controls import (
    PARAMETER_DRAWS,
    expected_work_given,
    expected_work_moments,
    offered_work_controls,
)
from sim.montecarlo.frames import (
    Replication,
    assemble,
    contract_frame,
    spend_frame,
    timeseries_frame,
    waits_frame,
)
from sim.montecarlo.inputs import build_input, names_of
from sim.montecarlo.runner import (
    ProgressFn,
    chunks,
    default_workers,
    run,
    run_many,
    run_replication,
)

__all__ = [
    "PARAMETER_DRAWS",
    "ProgressFn",
    "Replication",
    "assemble",
    "build_input",
    "chunks",
    "contract_frame",
    "default_workers",
    "expected_work_given",
    "expected_work_moments",
    "names_of",
    "offered_work_controls",
    "run",
    "run_many",
    "run_replication",
    "spend_frame",
    "timeseries_frame",
    "waits_frame",
]
