"""Shadow prices in planner units, each checked by hand and against a finite difference."""
from __future__ import annotations

import dataclasses

import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import load_scenario, solve
from optimizer.generate import generate_fleet


def price(plan, limit):
    table = plan.prices.set_index("limit")["value_per_unit"]
    return float(table.get(limit, 0.0))


def test_home_share_price(tmp_path):
    """V = 150·(1 - h) MTPP (x_DE <= (1-h)·150): +1 pp of the minimum costs 1.5 MTPP = 1.5e6."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("DE", "DEU")], [chip(inventory=150)],
                       [market("de", "DEU", 100 * M, in_country_only=True)],
                       policy='home_country = "USA"\nmin_home_share = 0.5\n')
    assert price(solve(load_scenario(f)), "home_share") == pytest.approx(-1.5e6, rel=1e-6)


def test_tier2_share_price(tmp_path):
    """V = 193·a MTPP (x_PL <= a·(93 + 100)): +1 pp of the 7 % adds 1.93 MTPP."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL")], [chip(inventory=100)],
                       [market("pl", "POL", 100 * M, in_country_only=True)], installed=[("US", "H", 93)],
                       policy="max_tier2_country_share = 0.07\n")
    assert price(solve(load_scenario(f)), "tier2_share[POL]") == pytest.approx(1.93e6, rel=1e-6)


def test_cap_power_rack_inventory_demand_prices(tmp_path):
    """Cap: V = cap, so +1,000 H100e (15.832M TPP) adds 15.832e6. Power: 1 unit per kW, so +1 MW
    adds 1,000 units = 1e9. Racks: 10 units per rack: 1e7. Inventory: 1e6 per unit. Demand of a
    fully served market at value 2: +1 H100e of demand adds 2 x 15,832."""
    cap = write_scenario(tmp_path / "cap", [site("PL", "POL")], [chip()], [market("pl", "POL", 100 * M)],
                         installed=[("PL", "H", 10)], policy="tier2_country_cap_tpp = 30_000_000\n")
    assert price(solve(load_scenario(cap)), "tier2_cap[POL]") == pytest.approx(15.832e6, rel=1e-6)
    pw = write_scenario(tmp_path / "pw", [site("US", "USA", power_mw=0.04)], [chip()],
                        [market("us", "USA", 100 * M)], policy="")
    assert price(solve(load_scenario(pw)), "power[US]") == pytest.approx(1e9, rel=1e-6)
    rk = write_scenario(tmp_path / "rk", [site("US", "USA", racks=3)], [chip()], [market("us", "USA", 100 * M)],
                        policy="")
    assert price(solve(load_scenario(rk)), "racks[US]") == pytest.approx(1e7, rel=1e-6)
    inv = write_scenario(tmp_path / "inv", [site("US", "USA")], [chip(inventory=20)],
                         [market("us", "USA", 100 * M)], policy="")
    assert price(solve(load_scenario(inv)), "inventory[H]") == pytest.approx(1e6, rel=1e-6)
    dem = write_scenario(tmp_path / "dem", [site("US", "USA")], [chip()], [market("us", "USA", 10 * M, value=2.0)],
                         policy="")
    assert price(solve(load_scenario(dem)), "demand[us]") == pytest.approx(2 * 15832, rel=1e-6)


def test_unserved_reasons(tmp_path):
    f = write_scenario(tmp_path, [site("CN", "CHN"), site("PL", "POL"), site("US", "USA", power_mw=0.01)],
                       [chip(inventory=1000)],
                       [market("cn", "CHN", 50 * M, in_country_only=True), market("pl", "POL", 50 * M, in_country_only=True),
                        market("us", "USA", 50 * M, in_country_only=True)],
                       policy="ban_tier3 = true\ntier2_country_cap_tpp = 5_000_000\n")
    plan = solve(load_scenario(f))
    reasons = plan.unserved.set_index("market_id")["reason"]
    assert reasons["cn"].startswith("no eligible site")
    assert reasons["pl"].startswith("policy")
    assert reasons["us"].startswith("capacity")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    folder = generate_fleet(tmp_path_factory.mktemp("fd") / "f", sites=300, skus=6, seed=1)
    s = load_scenario(folder)
    return s, solve(s)


def _resolve(s, **policy_changes):
    return solve(dataclasses.replace(s, policy=dataclasses.replace(s.policy, **policy_changes)))


def test_cap_price_matches_finite_difference(fleet):
    s, plan = fleet
    caps = plan.prices.loc[plan.prices["family"] == "tier2_cap"]
    assert len(caps), "the generated fleet should have a binding cap"
    k, reported = caps.iloc[0]["scope"], caps.iloc[0]["value_per_unit"]
    step = 1e5   # TPP
    moved = _resolve(s, caps={**s.policy.caps, k: s.policy.cap_for(k) + step})
    fd = (moved.summary["objective"] - plan.summary["objective"]) / step * 15.832e6
    assert fd == pytest.approx(reported, rel=1e-3)


def test_share_price_matches_finite_difference(tmp_path):
    """Under the UVEU preset (no caps) the 7 % limits bind; moving the common 7 % moves every
    Tier-2 country's limit, so the finite difference is the sum of their prices."""
    folder = generate_fleet(tmp_path / "f", sites=300, skus=6, seed=1)
    s = load_scenario(folder, "aidr-2025-uveu")
    plan = solve(s)
    rows = plan.prices.loc[plan.prices["family"] == "tier2_share"]
    assert len(rows), "the generated fleet should have a binding 7 % limit"
    step = 1e-6
    moved = _resolve(s, max_tier2_country_share=s.policy.max_tier2_country_share + step)
    fd = (moved.summary["objective"] - plan.summary["objective"]) / (step * 100)
    assert fd == pytest.approx(rows["value_per_unit"].sum(), rel=1e-3)
