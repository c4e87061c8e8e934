"""optimizer.load_plan(SCENARIO, DIR) (issue 12): the Plan that solve returned, read back from the
folder write_plan wrote: the same tables (prices and unserved demand too), the same summary (less
what writing added; JSON's null for NaN), built once and frozen like a solved plan."""
from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import InputError, load_plan, load_scenario, solve, write_plan
from optimizer.io.planfiles import _jsonable
from optimizer.results.plan import written_table
from optimizer.results.summary import thaw


@pytest.fixture
def scn(tmp_path):
    """Poland's 7 % binds (a policy price); a market out of reach is left unserved (a reason; its
    id looks like a number, and stays the text it is)."""
    return write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL", 52.0, 21.0)],
                          [chip(inventory=100.0, capex_usd=1000.0), chip("B", tpp=0.5 * M, inventory=30.0)],
                          [market("us", "USA", 50 * M), market("pl", "POL", 30 * M, 52.0, 21.0, in_country_only=True),
                           market("0042", "AUS", 5 * M, -33.9, 151.2, max_rtt_ms=10.0)])


def assert_same_plan(solved, loaded):
    for field in ("placement", "service", "prices", "unserved"):
        a, b = getattr(solved, field), getattr(loaded, field)
        assert (a is None) == (b is None), field
        if a is not None:     # placement and service as written: rounded to 10 significant digits
            expected = written_table(a) if field in ("placement", "service") else a
            pd.testing.assert_frame_equal(expected, b, check_exact=True)
    assert thaw(loaded.summary) == _jsonable(thaw(solved.summary))
    assert loaded.scenario.name == solved.scenario.name
    rules = lambda pol: {k: v for k, v in pol.values().items() if k != "tiers"}   # the record's tiers: those used
    assert rules(loaded.scenario.policy) == rules(solved.scenario.policy)
    pd.testing.assert_series_equal(loaded.scenario.tiers.sort_index(), solved.scenario.tiers.sort_index())


@pytest.mark.parametrize("path", ["fast", "plain"])
def test_a_written_plan_loads_back_as_the_solved_plan(scn, tmp_path, path):
    solved = solve(load_scenario(scn), path=path)
    write_plan(solved, tmp_path / "plan", formats=["xlsx"])
    loaded = load_plan(scn, tmp_path / "plan")
    assert_same_plan(solved, loaded)
    if path == "fast":
        assert len(loaded.prices) and "tier2_share[POL]" in set(loaded.prices["limit"])
        assert sorted(loaded.unserved["market_id"]) == ["0042", "pl"]
    else:
        assert loaded.prices is None and loaded.unserved is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.summary = {}
    with pytest.raises(TypeError):
        loaded.summary["objective"] = 0.0


def test_a_plan_loads_under_its_recorded_policy(scn, tmp_path):
    solved = solve(load_scenario(scn, "none"))
    write_plan(solved, tmp_path / "plan")
    loaded = load_plan(scn, tmp_path / "plan")          # scn has no policy.toml: aidr-2025 by default
    assert loaded.scenario.policy.name == "none"
    assert_same_plan(solved, loaded)


def test_other_inputs_are_refused(scn, tmp_path):
    write_plan(solve(load_scenario(scn)), tmp_path / "plan")
    (scn / "chips.csv").write_text((scn / "chips.csv").read_text().replace("100.0", "90.0"))
    with pytest.raises(InputError, match=r"solved on other inputs .*chips.csv changed"):
        load_plan(scn, tmp_path / "plan")


def test_a_hand_made_plan_is_refused(scn, tmp_path):
    write_plan(solve(load_scenario(scn)), tmp_path / "plan")
    hand = tmp_path / "hand"
    hand.mkdir()
    for name in ("placement.csv", "service.csv"):
        shutil.copy(tmp_path / "plan" / name, hand / name)
    with pytest.raises(InputError, match="no plan manifest"):
        load_plan(scn, hand)
