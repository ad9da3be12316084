"""The ``capsim`` command line: run, validate, sweep, stress, report.

The only module that prints. Every user error (a bad scenario, file or option) ends
with one or a few lines on stderr and exit status 2, never a traceback.

Modules: ``common`` (consoles, exit codes, helpers), ``parser``, ``tables`` and
``sizing_tables``, ``single``
(run, validate, schema, export, report), ``studies`` (sweep, optimize, stress),
``fitting`` (fit) and ``main``.
"""

from __future__ import annotations

from sim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    err,
    out,
)
from sim.cli.fitting import cmd_fit
from sim.cli.main import COMMANDS, main
from sim.cli.parser import build_parser
from sim.cli.single import cmd_export, cmd_report, cmd_run, cmd_schema, cmd_validate
from sim.cli.sizing_tables import optimize_table, sweep_table
from sim.cli.studies import cmd_optimize, cmd_stress, cmd_sweep
from sim.cli.tables import offered_work_table, stress_tables, summary_table

__all__ = [
    "COMMANDS",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "Terminated",
    "build_parser",
    "cmd_export",
    "cmd_fit",
    "cmd_optimize",
    "cmd_report",
    "cmd_run",
    "cmd_schema",
    "cmd_stress",
    "cmd_sweep",
    "cmd_validate",
    "err",
    "main",
    "offered_work_table",
    "optimize_table",
    "out",
    "stress_tables",
    "summary_table",
    "sweep_table",
]
