"""Results do not move by accident: fixed-seed runs of four shipped scenarios give the frames
recorded in tests/data/golden_frames.json (to 10 significant digits). A refactor must leave
them alone; an intended change of results regenerates them (python -m tests.golden_frames)
and says so in its commit and the changelog."""

from __future__ import annotations

import json

import pytest

from tests.golden_frames import CASES, DATA, compute


@pytest.fixture(scope="module")
def now():
    return compute()


@pytest.mark.parametrize("case", sorted(CASES))
def test_frames_are_as_recorded(case, now):
    recorded = json.loads(DATA.read_text())
    assert now[case] == recorded[case]
