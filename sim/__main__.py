"""``python -m sim``: the capsim command line."""

from sim.cli import main

raise SystemExit(main())
