"""The instance sets of a pool's capacity books (sim.engine.books.InstanceSets) against a
plain model: a Python set of instances per free level. Pools of up to 200 instances cross
the 62-instance word boundaries, which the shipped scenarios' pools (thousands of
instances) cross at every step and the small test scenarios never do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.books import WORD, InstanceSets


def _check(sets: InstanceSets, model: dict[int, set[int]], m: int) -> None:
    for level in range(m + 1):
        members = model[level]
        assert sets.count[level] == len(members)
        assert sets.lowest(level) == (min(members) if members else -1)
        assert sets.highest(level) == (max(members) if members else -1)
        at_least = set().union(*(model[k] for k in range(level, m + 1)))
        assert sets.lowest_at_least(level) == (min(at_least) if at_least else -1)
        for k in (1, len(members) // 2, len(members)):
            if 0 < k <= len(members):
                assert sets.lowest_k(level, k) == sorted(members)[:k]


@settings(max_examples=60, deadline=None)
@given(
    m=st.sampled_from([2, 4, 16]),
    n=st.integers(1, 200),
    steps=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=120),
)
def test_instance_sets_answer_as_sets_of_instances_per_level(m, n, steps):
    sets = InstanceSets(m)
    sets.grow(n)
    level = [-1] * n  # -1: in no set (retired, or not yet added)
    model: dict[int, set[int]] = {k: set() for k in range(m + 1)}
    for i in range(n):  # every instance starts wholly free, as a reservation adds them
        sets.change(i, -1, m)
        level[i] = m
        model[m].add(i)
    _check(sets, model, m)
    held: list[list[tuple[int, int]]] = []  # gangs running on whole instances
    for a, b in steps:
        if a % 4 == 0 and model[m]:
            # a gang of whole instances: the k lowest wholly free ones go to level 0
            k = 1 + b % len(model[m])
            gang = [(i, m) for i in sets.lowest_k(m, k)]
            sets.move(gang, m, 0)
            for i, _ in gang:
                model[m].discard(i)
                model[0].add(i)
                level[i] = 0
            held.append(gang)
        elif a % 4 == 1 and held:
            # a gang ends: its instances come back, in either order (a claim's instances
            # need not be ascending)
            gang = held.pop(b % len(held))
            sets.move(gang[::-1] if b % 2 else gang, 0, m)
            for i, _ in gang:
                model[0].discard(i)
                model[m].add(i)
                level[i] = m
        else:
            i = a % n
            if any(i == g for gang in held for g, _ in gang):
                continue
            new = b % (m + 2) - 1  # -1 … m
            sets.change(i, level[i], new)
            if level[i] >= 0:
                model[level[i]].discard(i)
            if new >= 0:
                model[new].add(i)
            level[i] = new
        _check(sets, model, m)


def test_a_pool_that_grows_keeps_its_instances_in_place():
    """Instances added by a later reservation (set_reserved) land in new words; the first
    words keep their members."""
    sets = InstanceSets(4)
    sets.grow(3)
    for i in range(3):
        sets.change(i, -1, 4)
    sets.change(1, 4, 2)
    sets.grow(3 * WORD + 1)
    for i in range(3, 3 * WORD + 1):
        sets.change(i, -1, 4)
    assert sets.lowest(2) == 1
    assert sets.count[4] == 3 * WORD
    assert sets.highest(4) == 3 * WORD
    assert sets.lowest_k(4, 3) == [0, 2, 3]
