"""Shadow prices in planner units, each checked by hand and against a finite difference."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import load_scenario, solve
from optimizer.bench.generate import generate_fleet


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
    assert reasons["cn"] == "no eligible site (only Tier-3 sites in reach)"


def test_unserved_reason_blames_tier3_only_when_one_was_in_reach(tmp_path):
    """A market 20,000 km from every site has no eligible site; the ban is on (the default) but
    no Tier-3 site is in its reach either, so the reason does not blame the ban."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("CN", "CHN", lat=31.2, lon=121.5)], [chip()],
                       [market("far", "ARG", 10 * M, lat=-35, lon=-60, max_rtt_ms=10.0)], policy="")
    plan = solve(load_scenario(f))
    assert plan.unserved.set_index("market_id").at["far", "reason"] == "no eligible site"


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


# --- every family against a finite difference, and the range each price reports -------------

H100E = 15_832.0


def moved_table(s, table: str, key: str, column: str, step: float):
    """The scenario with one cell of sites/chips/markets moved by ``step``."""
    frame = getattr(s, table).copy()
    frame.loc[key, column] = frame.loc[key, column] + step
    return dataclasses.replace(s, **{table: frame})


MOVES = {   # family -> (how to move its limit by step, planner units of the price per unit of step)
    "power": (lambda s, k, st: moved_table(s, "sites", k, "power_mw", st), 1.0),
    "racks": (lambda s, k, st: moved_table(s, "sites", k, "racks", st), 1.0),
    "inventory": (lambda s, k, st: moved_table(s, "chips", k, "inventory", st), 1.0),
    "demand": (lambda s, k, st: moved_table(s, "markets", k, "demand_tpp", st), H100E),
    "tier2_cap": (lambda s, k, st: dataclasses.replace(
        s, policy=dataclasses.replace(s.policy, caps={**s.policy.caps, k: s.policy.cap_for(k) + st})), 1000 * H100E),
    "home_share": (lambda s, k, st: dataclasses.replace(
        s, policy=dataclasses.replace(s.policy, min_home_share=s.policy.min_home_share + st)), 0.01),
    "tier1_share": (lambda s, k, st: dataclasses.replace(
        s, policy=dataclasses.replace(s.policy, min_tier1_share=s.policy.min_tier1_share + st)), 0.01),
    "tier2_share": (lambda s, k, st: dataclasses.replace(
        s, policy=dataclasses.replace(s.policy, max_tier2_country_share=s.policy.max_tier2_country_share + st)), 0.01),
}


def finite_difference(s, plan, row, step):
    """Objective change per unit of the price, moving the row's limit by ``step`` (its own unit)."""
    move, per_unit = MOVES[row["family"]]
    moved = solve(move(s, row["scope"], step))
    return (moved.summary["objective"] - plan.summary["objective"]) / step * per_unit


def first_priced(plan, family):
    rows = plan.prices.loc[plan.prices["family"] == family]
    assert len(rows), f"no binding {family} limit"
    return rows.iloc[0]


@pytest.mark.parametrize("family", ["racks", "inventory", "demand", "tier2_cap"])
def test_rhs_price_matches_finite_difference_inside_its_range(fleet, family):
    """Ranged families on a generated fleet: moving the limit 90 % of the way to either end of
    its reported range changes the objective by exactly price x step (the price holds over the
    whole range; an infinite end is probed 1e6 units out)."""
    s, plan = fleet
    row = first_priced(plan, family)
    assert row["range"] == "ranging" and row["valid_from"] <= row["limit_value"] <= row["valid_to"]
    probed = []
    for end in ("valid_to", "valid_from"):
        room = row[end] - row["limit_value"]
        step = 0.9 * room if np.isfinite(room) else np.sign(room) * 1e6
        if row["limit_value"] + step < 0 or abs(step) < 1e-9:
            continue
        fd = finite_difference(s, plan, row, step)
        assert fd == pytest.approx(row["value_per_unit"], rel=1e-5), end
        probed.append(end)
    assert probed, f"{family}: neither end of the range could be probed (range {row['valid_from']}..{row['valid_to']})"


def cap_case(tmp_path):
    """10 installed in POL, cap 30 MTPP, inventory 50: the cap binds (new 20) until 60 MTPP,
    where inventory runs out. The cap's price holds from 10 (installed) to 60 MTPP."""
    f = write_scenario(tmp_path, [site("PL", "POL")], [chip(inventory=50)], [market("pl", "POL", 100 * M)],
                       installed=[("PL", "H", 10)], policy="tier2_country_cap_tpp = 30_000_000\n")
    return load_scenario(f)


def test_cap_range_by_hand_and_beyond_it(tmp_path):
    s = cap_case(tmp_path)
    plan = solve(s)
    row = first_priced(plan, "tier2_cap")
    assert row["limit_value"] == pytest.approx(30 * M)
    assert row["valid_from"] == pytest.approx(10 * M, rel=1e-9)
    assert row["valid_to"] == pytest.approx(60 * M, rel=1e-9)
    assert finite_difference(s, plan, row, 25 * M) == pytest.approx(row["value_per_unit"], rel=1e-9)
    beyond = finite_difference(s, plan, row, 40 * M)          # to 70 MTPP: only 30 more can be used
    assert beyond == pytest.approx(row["value_per_unit"] * 30 / 40, rel=1e-9)


def test_power_price_and_range_by_hand(tmp_path):
    """0.04 MW at 1 kW per unit: power binds (40 units) until demand (100 MTPP) at 0.1 MW."""
    f = write_scenario(tmp_path, [site("US", "USA", power_mw=0.04)], [chip()], [market("us", "USA", 100 * M)],
                       policy="")
    s = load_scenario(f)
    plan = solve(s)
    row = first_priced(plan, "power")
    assert (row["valid_from"], row["valid_to"]) == (pytest.approx(0.0, abs=1e-12), pytest.approx(0.1))
    assert finite_difference(s, plan, row, 0.03) == pytest.approx(row["value_per_unit"], rel=1e-9)


def test_home_share_price_matches_finite_difference_and_probe(tmp_path):
    f = write_scenario(tmp_path, [site("US", "USA"), site("DE", "DEU")], [chip(inventory=150)],
                       [market("de", "DEU", 100 * M, in_country_only=True)],
                       policy='home_country = "USA"\nmin_home_share = 0.5\n')
    s = load_scenario(f)
    plan = solve(s, probe_shares=True)
    row = first_priced(plan, "home_share")
    assert finite_difference(s, plan, row, 1e-4) == pytest.approx(row["value_per_unit"], rel=1e-6)
    assert row["range"] == "probe" and row["price_above"] == pytest.approx(row["value_per_unit"], rel=1e-6)
    assert (row["valid_from"], row["valid_to"]) == (pytest.approx(49.99), pytest.approx(50.01))


def test_tier1_share_price_matches_finite_difference(tmp_path):
    """Demand only in Poland (Tier 2); Tier-1 share >= 75 %: x_PL <= 0.25·(x_US + x_PL) with
    x_US + x_PL <= 100, so V = 25 MTPP; +1 pp of the minimum costs 1 MTPP = 1e6."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL")], [chip(inventory=100)],
                       [market("pl", "POL", 100 * M, in_country_only=True)], policy="min_tier1_share = 0.75\n")
    s = load_scenario(f)
    plan = solve(s)
    row = first_priced(plan, "tier1_share")
    assert row["value_per_unit"] == pytest.approx(-1e6, rel=1e-6)
    assert finite_difference(s, plan, row, 1e-4) == pytest.approx(row["value_per_unit"], rel=1e-6)


def test_tier2_share_price_matches_finite_difference_for_one_country(tmp_path):
    f = write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL")], [chip(inventory=100)],
                       [market("pl", "POL", 100 * M, in_country_only=True)], installed=[("US", "H", 93)],
                       policy="max_tier2_country_share = 0.07\n")
    s = load_scenario(f)
    plan = solve(s)
    row = first_priced(plan, "tier2_share")
    assert finite_difference(s, plan, row, 1e-5) == pytest.approx(row["value_per_unit"], rel=1e-4)


def test_share_probe_says_when_the_price_changes(tmp_path):
    """186 installed in the U.S. (no room left there); Polish demand; POL <= 7 %:
    x_PL = 0.07·186/0.93 = 14, and the inventory (14.005) runs out just above. Below the limit the price is dV/da = 186/0.93²
    MTPP per unit share (2.15e6 per pp); above it only 0.005 MTPP more fits in the 0.01 pp step
    (5e5 per pp). The probe reports both sides and claims no range."""
    f = write_scenario(tmp_path, [site("US", "USA", racks=18.6), site("PL", "POL")], [chip(inventory=14.005)],
                       [market("pl", "POL", 100 * M, in_country_only=True)], installed=[("US", "H", 186)],
                       policy="max_tier2_country_share = 0.07\n")
    plan = solve(load_scenario(f), probe_shares=True)
    row = first_priced(plan, "tier2_share")
    assert row["value_per_unit"] == pytest.approx(186 / 0.93**2 * 1e4, rel=1e-6)
    assert row["price_below"] == pytest.approx(row["value_per_unit"], rel=1e-3)
    assert row["price_above"] == pytest.approx(5e5, rel=1e-6)
    assert "price changes within 0.01 pp" in row["range_note"]
    assert np.isnan(row["valid_from"]) and np.isnan(row["valid_to"])


def test_demand_price_is_never_negative_on_the_sample():
    """The sample's Brazilian sovereign markets are left unserved (the BRA cap binds): their
    reduced cost is the price of the lower bound (-7,916 per H100e), not of the demand."""
    plan = solve(load_scenario("datasets/sample"))
    demand = plan.prices.loc[plan.prices["family"] == "demand", "value_per_unit"]
    assert len(demand) and (demand > 0).all()
    assert not plan.prices["limit"].str.contains("bra-sovereign").any()


def test_unserved_market_demand_adds_nothing(tmp_path):
    """A market left at zero because the cap binds: its demand has no price, and indeed more of
    its demand adds nothing."""
    f = write_scenario(tmp_path, [site("PL", "POL")], [chip()],
                       [market("a", "POL", 100 * M, value=2.0), market("b", "POL", 100 * M, value=1.0)],
                       policy="tier2_country_cap_tpp = 30_000_000\n")
    s = load_scenario(f)
    plan = solve(s)
    assert "demand[b]" not in set(plan.prices["limit"])
    moved = solve(moved_table(s, "markets", "b", "demand_tpp", 10 * M))
    assert moved.summary["objective"] == pytest.approx(plan.summary["objective"], rel=1e-12)


def test_soft_default_price_scales_with_values(tmp_path):
    """Values near 1,000 per TPP: the hard plan is feasible, and --soft with default prices
    reproduces its optimum with no violation (a fixed default of 10 per TPP would break limits)."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL")], [chip(inventory=100)],
                       [market("pl", "POL", 100 * M, value=1000.0, in_country_only=True),
                        market("us", "USA", 10 * M, value=900.0)],
                       installed=[("US", "H", 93)],
                       policy='home_country = "USA"\nmin_home_share = 0.5\nmax_tier2_country_share = 0.07\n'
                              "tier2_country_cap_tpp = 5_000_000\n")
    s = load_scenario(f)
    hard = solve(s)
    soft = solve(s, soft={})
    assert soft.summary["soft"]["violations"] == []
    assert soft.summary["objective"] == pytest.approx(hard.summary["objective"], rel=1e-9)
    assert min(soft.summary["soft"]["prices_per_tpp"].values()) >= 10 * 1000.0


def test_summary_records_each_price_range(tmp_path):
    """summary.json → explain: a cap's price with its range in TPP of cap (the file stays valid
    JSON); `fleetopt explain` prints the same range."""
    import json

    from typer.testing import CliRunner

    from cli import app
    s = cap_case(tmp_path / "s")
    r = CliRunner().invoke(app, ["solve", str(s.path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    cap = next(p for p in summary["explain"]["policy_prices"] if p["family"] == "tier2_cap")
    assert (cap["limit_value"], cap["valid_from"], cap["valid_to"]) == (
        pytest.approx(30 * M), pytest.approx(10 * M), pytest.approx(60 * M))
    assert cap["range"] == "ranging" and cap["limit_unit"] == "TPP"
    r = CliRunner().invoke(app, ["explain", str(s.path)])
    assert r.exit_code == 0, r.output
    assert "limit 30,000,000 TPP, holds from 10,000,000 TPP to 60,000,000 TPP" in r.output
