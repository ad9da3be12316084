"""The compiled engine's clock (sim.engine.eventheap) is a twin of SimPy's event heap: driven
by the same random schedules, it must run the same events in the same order at the same
(bit-identical) times, stop ``run(until)`` where SimPy does, and refuse what SimPy refuses.
The golden frames check the whole engine on both clocks; this checks the clocks alone, on
schedules the engine may not happen to produce (ties of time and priority, zero delays,
events scheduled by events, runs resumed many times)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import clock, eventheap, native

SOURCE = Path(clock.__file__).with_name("eventheap.py")  # clock is never compiled


def _interpreted_twin() -> ModuleType:
    """The twin's source, interpreted (in this process the package may load it compiled)."""
    spec = importlib.util.spec_from_file_location("eventheap_interpreted", SOURCE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TWINS = {"interpreted": _interpreted_twin().Env, "package": eventheap.Env}

# delays with many ties (exact sums) and some that are not (0.1 + 0.2 != 0.3)
DELAYS = st.one_of(
    st.sampled_from([0.0, 0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 1.0, 2.0, 24.0]),
    st.floats(0.0, 50.0, allow_nan=False, allow_infinity=False),
)
# a plan: node i is scheduled (delay, priority) after its parent fires (-1: at the start)
NODES = st.lists(
    st.tuples(DELAYS, st.integers(1, 6), st.integers(-1, 200)), min_size=1, max_size=120
)
# stops at event times too: the stopping event (SimPy's URGENT) must run before the
# engine's events of that instant, and the one it leaves behind before the next run's
STOPS = st.lists(
    st.one_of(
        st.sampled_from([0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 24.0]),
        st.floats(0.01, 80.0, allow_nan=False),
    ),
    max_size=6,
)


def trace(env: Any, plan: list[tuple[float, int, int]], stops: list[float]) -> list[tuple]:
    """Run a plan on a clock; what each event saw (its node, the clock, the next event due)
    and where each ``run(until)`` left the clock."""
    children: dict[int, list[int]] = {}
    for i, (_, _, parent) in enumerate(plan):
        children.setdefault(parent if parent < i else -1, []).append(i)
    log: list[tuple] = []

    def fire(ev: Any) -> None:
        fired(ev.arg)

    def fire_n(ev: Any) -> None:
        fired(ev.n)

    def schedule(c: int) -> None:
        # odd nodes carry their number as an object payload, even ones as an integer one
        if c % 2:
            env.call(plan[c][0], plan[c][1], fire, c)
        else:
            env.call_n(plan[c][0], plan[c][1], fire_n, c)

    def fired(i: int) -> None:
        log.append(("event", i, env.now, env.peek()))
        for c in children.get(i, []):
            schedule(c)

    for c in children.get(-1, []):
        schedule(c)
    for t in sorted(stops):
        if t > env.now:
            env.run(until=t)
            log.append(("stop", env.now, env.peek()))
    env.run(until=env.now + 1000.0)
    log.append(("end", env.now, env.peek()))
    return log


@pytest.mark.parametrize("twin", sorted(TWINS))
@settings(max_examples=150, deadline=None)
@given(plan=NODES, stops=STOPS)
def test_the_twin_runs_simpys_events_in_simpys_order_at_simpys_times(twin, plan, stops):
    expected = trace(clock.Env(), plan, stops)
    got = trace(TWINS[twin](), plan, stops)
    assert got == expected  # floats compared exactly: same sums, same times


@pytest.mark.parametrize("make", [clock.Env, *TWINS.values()])
def test_both_clocks_refuse_what_simpy_refuses(make):
    env = make()
    with pytest.raises(ValueError, match=r"-1\.0 hours from now"):
        env.call(-1.0, 1, lambda ev: None, 0)
    with pytest.raises(ValueError, match="nan hours from now"):
        env.call(math.nan, 1, lambda ev: None, 0)
    with pytest.raises(ValueError, match=r"-2\.0 hours from now"):
        env.call_n(-2.0, 1, lambda ev: None, 0)
    with pytest.raises(ValueError, match="nan hours from now"):
        env.call_n(math.nan, 1, lambda ev: None, 0)
    env.run(until=5.0)
    assert env.now == 5.0
    with pytest.raises(ValueError, match=r"until \(5\.0\) must be greater than the current"):
        env.run(until=5.0)


def test_the_compiled_engine_runs_on_the_twin_and_the_interpreted_on_simpy():
    env = clock.new_env()
    if native.Status.compiled:
        assert type(env) is eventheap.Env
        assert not SOURCE.samefile(eventheap.__file__)  # the compiled module, not the source
    else:
        assert isinstance(env, clock.Env)  # SimPy's environment
