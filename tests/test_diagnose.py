"""Infeasibility diagnosis names exactly the limits in conflict, in planner terms."""
from __future__ import annotations

import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import InfeasibleError, load_scenario, solve

SITES = [site("US", "USA"), site("DE", "DEU"), site("PL", "POL"), site("AE", "ARE")]
MARKETS = [market("us", "USA", 10 * M)]


def _infeasible(tmp_path, installed, policy="aidr-2025", path="fast"):
    f = write_scenario(tmp_path, SITES, [chip(inventory=0)], MARKETS, installed=installed)
    with pytest.raises(InfeasibleError) as err:
        solve(load_scenario(f, policy), path=path)
    return err.value


@pytest.mark.parametrize("path", ["fast", "plain"])
def test_one_country_over_seven_percent(tmp_path, path):
    """88 units in the U.S., 12 in Poland, nothing to add: Poland holds 12 % > 7 %; all else holds."""
    err = _infeasible(tmp_path, [("US", "H", 88), ("PL", "H", 12)], path=path)
    assert err.limits == ["tier2_share[POL]"] and err.families == ["tier2_share"]
    assert "already puts 12.0% of compute in POL; the limit is 7%" in str(err)


def test_two_countries_over_and_nothing_else(tmp_path):
    """76 U.S., 12 Poland, 12 UAE: both 7 % limits fail; the Tier-1 share (76 %) and home share hold."""
    err = _infeasible(tmp_path, [("US", "H", 76), ("PL", "H", 12), ("AE", "H", 12)])
    assert sorted(err.limits) == ["tier2_share[ARE]", "tier2_share[POL]"]


def test_home_share_short(tmp_path):
    """40 U.S. and 60 German units with no inventory: home share 40 % < 50 %; Tier 1 is 100 %."""
    err = _infeasible(tmp_path, [("US", "H", 40), ("DE", "H", 60)])
    assert err.limits == ["home_share"] and "installed base has 40.0% there" in str(err)


def test_cap_exceeded(tmp_path):
    """Poland's installed 3 MTPP over a 1 MTPP cap (share limits off)."""
    f = write_scenario(tmp_path, SITES, [chip(inventory=0)], MARKETS, installed=[("US", "H", 97), ("PL", "H", 3)],
                       policy="tier2_country_cap_tpp = 1_000_000\n")
    with pytest.raises(InfeasibleError) as err:
        solve(load_scenario(f))
    assert err.value.limits == ["tier2_cap[POL]"]
    assert "installed base there is 3,000,000 TPP; the cap is 1,000,000 TPP" in str(err.value)
