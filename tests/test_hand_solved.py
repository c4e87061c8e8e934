"""Hand-solved instances, one per limit binding in turn, on every solver path.

Conventions: one chip ``H`` with tpp = 1e6 TPP per unit (so 1 unit = 1 MTPP), 1 kW per unit,
10 units per rack, value 1 per TPP unless said. Each policy.toml switches on only the limit
under test. The optimum and the plan are derived in each docstring; every plan also passes the
independent checker (``solve_checked``).
"""
from __future__ import annotations

import pytest
from helpers import ALL_PATHS, M, chip, market, new_units, site, solve_checked, write_scenario

# and OR-Tools GLOP on the same matrices. PDLP is left out: on five of these tiny instances it
# stops ABNORMAL (status error, exit 4) or ends 3e-7 over a 7 % limit (the checker refuses it),
# a first-order method's accuracy; the known-LP grid (test_backends.py) runs it
paths = pytest.mark.parametrize("path", (*ALL_PATHS, "ortools-glop"))


@paths
def test_home_share_binds(tmp_path, path):
    """Only DEU has demand (100 MTPP, in-country); policy: USA >= 50 %; inventory 150.

    x_US >= x_DE (home share), x_US + x_DE <= 150  =>  x_DE <= 75, served 75 MTPP.
    With capex > 0 the cost stage places no more in the U.S. than needed: x_US = 75.
    """
    f = write_scenario(tmp_path, [site("US", "USA"), site("DE", "DEU")],
                       [chip(inventory=150, capex_usd=1.0)],
                       [market("de", "DEU", 100 * M, in_country_only=True)],
                       policy='home_country = "USA"\nmin_home_share = 0.5\n')
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(75 * M, rel=1e-6)
    assert new_units(plan, "DE") == pytest.approx(75, rel=1e-6)
    assert new_units(plan, "US") == pytest.approx(75, rel=1e-6)
    assert "home_share[USA]" in plan.summary["binding_limits"]


@paths
def test_tier1_share_binds(tmp_path, path):
    """Demand only in IND (Tier 2, 100 MTPP in-country); Tier 1 >= 75 %; inventory 100.

    x_IN <= 0.25·(x_DE + x_IN) => x_IN <= x_DE / 3; with x_IN + x_DE <= 100: x_IN = 25.
    """
    f = write_scenario(tmp_path, [site("DE", "DEU"), site("IN", "IND")], [chip(inventory=100)],
                       [market("in", "IND", 100 * M, in_country_only=True)],
                       policy="min_tier1_share = 0.75\n")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(25 * M, rel=1e-6)
    assert new_units(plan, "IN") == pytest.approx(25, rel=1e-6)
    assert "tier1_share[tier1]" in plan.summary["binding_limits"]


@paths
def test_tier2_country_share_binds(tmp_path, path):
    """93 units installed in the U.S.; demand only in POL; POL <= 7 %; inventory 100.

    x_PL <= 0.07·(93 + x_US + x_PL) and x_US + x_PL <= 100  =>  x_PL <= 0.07·193 = 13.51.
    The cost stage adds just enough U.S. units: 0.93·13.51 <= 0.07·(93 + x_US) => x_US = 86.49.
    """
    f = write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL")],
                       [chip(inventory=100, capex_usd=1.0)],
                       [market("pl", "POL", 100 * M, in_country_only=True)],
                       installed=[("US", "H", 93)], policy="max_tier2_country_share = 0.07\n")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(13.51 * M, rel=1e-6)
    assert new_units(plan, "US") == pytest.approx(86.49, rel=1e-5)
    assert "tier2_share[POL]" in plan.summary["binding_limits"]


@paths
def test_tier2_cap_binds(tmp_path, path):
    """POL cap 30 MTPP, 10 units installed there; demand 100 MTPP in POL; inventory 100.

    10 + x_PL <= 30  =>  x_PL = 20; served = installed + new = 30 MTPP.
    """
    f = write_scenario(tmp_path, [site("PL", "POL")], [chip(inventory=100)],
                       [market("pl", "POL", 100 * M)], installed=[("PL", "H", 10)],
                       policy="tier2_country_cap_tpp = 30_000_000\n")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(30 * M, rel=1e-6)
    assert new_units(plan, "PL") == pytest.approx(20, rel=1e-6)
    assert "tier2_cap[POL]" in plan.summary["binding_limits"]


@paths
def test_tier3_ban_binds(tmp_path, path):
    """CHN market (50 MTPP, value 2, in-country) can only use the CHN site, which is banned;
    JPN market 30 MTPP at value 1. Ban: served value = 30 MTPP. Without limits: 2·50 + 30 = 130.
    """
    f = write_scenario(tmp_path, [site("CN", "CHN"), site("JP", "JPN")], [chip(inventory=100)],
                       [market("cn", "CHN", 50 * M, value=2.0, in_country_only=True),
                        market("jp", "JPN", 30 * M, in_country_only=True)],
                       policy="ban_tier3 = true\n")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(30 * M, rel=1e-6)
    assert new_units(plan, "CN") == 0
    free = solve_checked(f, path, policy="none")
    assert free.summary["objective"] == pytest.approx(130 * M, rel=1e-6)


@paths
def test_site_power_binds(tmp_path, path):
    """Site power 0.04 MW = 40 kW at 1 kW per unit; 5 units installed use 5 kW.

    New units <= 35; served = 5 + 35 = 40 MTPP of a 100 MTPP demand.
    """
    f = write_scenario(tmp_path, [site("US", "USA", power_mw=0.04)], [chip(inventory=100)],
                       [market("us", "USA", 100 * M)], installed=[("US", "H", 5)], policy="")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(40 * M, rel=1e-6)
    assert new_units(plan, "US") == pytest.approx(35, rel=1e-6)
    assert plan.summary["physical_binding"]["power_sites"] == ["US"]


@paths
def test_site_racks_bind(tmp_path, path):
    """3 racks of 10 units: at most 30 units; served 30 MTPP."""
    f = write_scenario(tmp_path, [site("US", "USA", racks=3)], [chip(inventory=100)],
                       [market("us", "USA", 100 * M)], policy="")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(30 * M, rel=1e-6)
    assert plan.summary["physical_binding"]["rack_sites"] == ["US"]


@paths
def test_inventory_binds(tmp_path, path):
    """Inventory 20 units across two open sites; served 20 MTPP of 100."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("CA", "CAN")], [chip(inventory=20)],
                       [market("us", "USA", 100 * M)], policy="")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(20 * M, rel=1e-6)
    assert plan.summary["physical_binding"]["inventory_skus"] == ["H"]


@paths
def test_latency_binds(tmp_path, path):
    """New York market, max 30 ms = 2,000 km. Ashburn (about 330 km, 5 ms) holds 10 units;
    Frankfurt (about 6,200 km, 93 ms) is unlimited but too far. Served 10 MTPP of 100."""
    f = write_scenario(tmp_path, [site("IAD", "USA", 39.04, -77.49, power_mw=0.01),
                                  site("FRA", "DEU", 50.11, 8.68)], [chip(inventory=100)],
                       [market("nyc", "USA", 100 * M, 40.71, -74.01, max_rtt_ms=30)], policy="")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(10 * M, rel=1e-6)
    rtt = plan.service.set_index("site_id")["rtt_ms"]
    assert list(rtt.index) == ["IAD"] and 4.5 < rtt["IAD"] < 5.5


@paths
def test_in_country_binds(tmp_path, path):
    """German sovereign market (in-country only); Frankfurt holds 10 units, Amsterdam is
    unlimited and within 100 ms but abroad. Served 10 MTPP; without the flag, 100."""
    sites = [site("FRA", "DEU", 50.11, 8.68, power_mw=0.01), site("AMS", "NLD", 52.37, 4.90)]
    f = write_scenario(tmp_path / "a", sites, [chip(inventory=100)],
                       [market("de", "DEU", 100 * M, 50.11, 8.68, in_country_only=True)], policy="")
    assert solve_checked(f, path).summary["objective"] == pytest.approx(10 * M, rel=1e-6)
    g = write_scenario(tmp_path / "b", sites, [chip(inventory=100)],
                       [market("de", "DEU", 100 * M, 50.11, 8.68)], policy="")
    assert solve_checked(g, path).summary["objective"] == pytest.approx(100 * M, rel=1e-6)


@paths
def test_cost_stage_picks_cheaper_chip_and_site(tmp_path, path):
    """Two chips with equal TPP, capex 2 and 1; two sites, energy 0 and 100 $/MWh. Demand 10 MTPP.

    Value is 10 MTPP either way; the cheapest plan buys 10 units of the capex-1 chip at the
    free-energy site: cost = 10·1 + 0 = 10 USD.
    """
    f = write_scenario(tmp_path, [site("A", "USA", energy_usd_per_mwh=100.0),
                                  site("B", "USA", energy_usd_per_mwh=0.0)],
                       [chip("P", capex_usd=2.0), chip("Q", capex_usd=1.0)],
                       [market("us", "USA", 10 * M)], policy="")
    plan = solve_checked(f, path)
    assert plan.summary["objective"] == pytest.approx(10 * M, rel=1e-6)
    assert new_units(plan, "B", "Q") == pytest.approx(10, rel=1e-5)
    assert plan.summary["cost"]["total_usd"] == pytest.approx(10.0, rel=1e-4)
