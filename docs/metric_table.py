"""Write docs/scenario.md's metric table from the catalogue (sim/catalogue.py); run by
``make readme``. tests/test_catalogue.py checks the two agree."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.catalogue import markdown_table  # noqa: E402

BEGIN = "<!-- metric table: generated from sim/catalogue.py by make readme -->\n"
END = "<!-- end of metric table -->"


def main() -> None:
    path = ROOT / "docs/scenario.md"
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + markdown_table() + END + tail
    if new != text:
        path.write_text(new)
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
