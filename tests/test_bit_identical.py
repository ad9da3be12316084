"""Results do not move by accident: fixed-seed runs of four shipped scenarios give the frames
recorded in tests/data/golden_frames.json (to 10 significant digits). A refactor must leave
them alone; an intended change of results regenerates them (python -m tests.golden_frames)
and says so in its commit and the changelog."""

from __future__ import annotations

import json

import pytest

from tests.golden_frames import CASES, DATA, compute, differences


@pytest.fixture(scope="module")
def now():
    return compute()


@pytest.mark.parametrize("case", sorted(CASES))
def test_frames_are_as_recorded(case, now):
    recorded = json.loads(DATA.read_text())
    diff = differences(recorded[case], now[case])
    moved = [d for d in diff if "MOVED" in d]
    assert not diff, (
        f"{len(moved)} columns moved, {len(diff) - len(moved)} added or removed "
        "(regenerate with python -m tests.golden_frames if intended):\n" + "\n".join(diff)
    )


def test_the_guard_names_a_moved_column_apart_from_a_new_one():
    import pandas as pd

    from tests.golden_frames import digest

    old = {"ts": digest(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))}
    same_plus = {"ts": digest(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [3.0, 4.0]}))}
    moved = {"ts": digest(pd.DataFrame({"a": [1.0, 2.000001], "b": ["x", "y"]}))}
    noise = {"ts": digest(pd.DataFrame({"a": [1.0, 2.0 + 1e-12], "b": ["x", "y"]}))}
    assert differences(old, same_plus) == ["ts.c: new column"]
    assert differences(old, moved) == ["ts.a: MOVED"]
    assert differences(old, noise) == []  # below 10 significant digits
    assert differences(old, {}) == ["ts: frame gone"]
