"""``capsim compare``'s options (the parser's largest command, in a file of its own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_compare(sub: Any, *shared: Callable[[Any], None]) -> None:
    """``capsim compare``."""
    p = sub.add_parser(
        "compare",
        help="run alternatives (commitment portfolios) under every stress case",
        description="Run the base scenario as written and every alternative (a partial "
        "scenario merged over the base that changes the supply side: reservations, "
        "[[commitments]], the contract) under the base case and every --stress case, all on "
        "the same replications; report each cell's objective, each alternative's regret "
        "against the best of each case, and the minimax-regret choice.",
    )
    p.add_argument("scenario", type=Path, help="the base scenario file (TOML)")
    p.add_argument(
        "alternatives",
        type=Path,
        nargs="+",
        help="alternative files: partial scenarios merged over the base, one alternative each",
    )
    p.add_argument(
        "--stress",
        type=Path,
        nargs="+",
        default=[],
        metavar="STRESS",
        help="stress files: cases every alternative is run under (besides the base case)",
    )
    for add in shared:  # the options every study takes: -n, --seed, --out, objective, backend
        add(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="complete an interrupted comparison of --out (its finished blocks are kept)",
    )
