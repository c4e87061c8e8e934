"""The independent checker catches a plan broken on purpose, one rule at a time."""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import check_plan, load_scenario, solve

POLICY = """home_country = "USA"
min_home_share = 0.5
min_tier1_share = 0.75
max_tier2_country_share = 0.07
tier2_country_cap_tpp = 790_000_000
ban_tier3 = true
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """U.S., German, Polish and Chinese sites; demand in the U.S. and Poland; a U.S. installed base."""
    folder = write_scenario(
        tmp_path_factory.mktemp("chk"),
        [site("US", "USA", 39.0, -77.5, power_mw=1.0, racks=200), site("DE", "DEU", 50.1, 8.7),
         site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=2000)],
        [market("us", "USA", 800 * M, 39.0, -77.5, max_rtt_ms=30),
         market("pl", "POL", 500 * M, 52.2, 21.0, in_country_only=True)],
        installed=[("US", "H", 100)], policy=POLICY)
    s = load_scenario(folder)
    plan = solve(s)
    assert check_plan(s, plan.placement, plan.service).ok
    return s, plan.placement, plan.service


def _add_units(placement: pd.DataFrame, site_id: str, units: float, country: str = "USA") -> pd.DataFrame:
    p = placement.copy()
    hit = (p["site_id"] == site_id) & (p["sku"] == "H")
    if hit.any():
        p.loc[hit, ["new_units", "units"]] += units
        return p
    row = {"site_id": site_id, "country": country, "tier": 1, "sku": "H", "installed_units": 0.0,
           "new_units": units, "units": units}
    return pd.concat([p, pd.DataFrame([row])], ignore_index=True)


def _broken(s, placement, service, rule):
    report = check_plan(s, placement, service)
    assert not report.ok
    failed = report.failures()
    assert rule in set(failed["rule"]), failed.to_string()
    return failed.loc[failed["rule"] == rule].iloc[0]


def test_base_plan_is_compliant(base):
    s, placement, service = base
    assert check_plan(s, placement, service).ok


def test_installed_removed(base):
    s, p, sv = base
    p = p.copy()
    p.loc[p["site_id"] == "US", ["installed_units"]] = 0.0
    row = _broken(s, p, sv, "installed_kept")
    assert "US/H" in row["offenders"]


def test_units_do_not_add_up(base):
    s, p, sv = base
    p = p.copy()
    p.loc[p["site_id"] == "US", "units"] += 5
    assert "US/H" in _broken(s, p, sv, "units_add_up")["offenders"]


def test_inventory_exceeded(base):
    s, p, sv = base
    assert "H" in _broken(s, _add_units(p, "DE", 5000, "DEU"), sv, "inventory")["offenders"]


def test_power_exceeded(base):
    s, p, sv = base
    assert "US" in _broken(s, _add_units(p, "US", 1500), sv, "site_power_kw")["offenders"]


def test_racks_exceeded(base):
    s, p, sv = base
    # 200 racks x 10 = 2000 units; power 1 MW = 1000 units: break racks alone via a bigger rack draw
    s2 = type(s)(**{**s.__dict__, "sites": s.sites.assign(racks=s.sites["racks"].where(s.sites.index != "US", 10))})
    assert "US" in _broken(s2, p, sv, "site_racks")["offenders"]


def test_ineligible_pair(base):
    s, p, sv = base
    bad = pd.concat([sv, pd.DataFrame([{"market_id": "pl", "site_id": "DE", "tpp": 1.0, "rtt_ms": 0.0}])])
    assert "pl/DE" in _broken(s, p, bad, "service_pairs_eligible")["offenders"]


def test_site_serves_more_than_it_has(base):
    s, p, sv = base
    bad = sv.copy()
    bad.loc[bad["site_id"] == "US", "tpp"] *= 10
    assert "US" in _broken(s, p, bad, "site_serving_tpp")["offenders"]


def test_market_over_demand(base):
    s, p, sv = base
    bad = pd.concat([sv, pd.DataFrame([{"market_id": "us", "site_id": "US", "tpp": 900 * M, "rtt_ms": 0.0}])])
    assert "us" in _broken(s, p, bad, "market_demand_tpp")["offenders"]


def test_home_share_broken(base):
    s, p, sv = base
    row = _broken(s, _add_units(p, "DE", 1900, "DEU"), sv, "home_share")
    assert row["margin"] < 0


def test_tier1_share_and_tier2_share_broken(base):
    s, p, sv = base
    broken = _add_units(p, "PL", 700, "POL")
    assert _broken(s, broken, sv, "tier2_share")["scope"] == "POL"
    assert _broken(s, broken, sv, "tier1_share")["margin"] < 0


def test_tier2_cap_broken(base):
    s, p, sv = base
    s2 = type(s)(**{**s.__dict__, "policy": type(s.policy)(**{**s.policy.__dict__, "max_tier2_country_share": None,
                                                              "tier2_country_cap_tpp": 1 * M})})
    assert _broken(s2, p, sv, "tier2_cap")["scope"] == "POL"


def test_tier3_ban_broken(base):
    s, p, sv = base
    assert "CN" in _broken(s, _add_units(p, "CN", 1, "CHN"), sv, "tier3_ban")["offenders"]


def test_unknown_ids_and_negative_values(base):
    s, p, sv = base
    bad = p.copy()
    bad.loc[0, "site_id"] = "NOPE"
    assert "NOPE" in _broken(s, bad, sv, "placement_ids_known")["offenders"]
    neg = p.copy()
    neg.loc[0, "new_units"] = -3.0
    _broken(s, neg, sv, "placement_values_nonnegative")


def test_whole_racks_only_when_integer(base):
    s, p, sv = base
    frac = _add_units(p, "US", 0.5)
    assert check_plan(s, frac, sv, integer=False).rules.set_index("rule").index.isin(["whole_racks"]).sum() == 0
    _broken_int = check_plan(s, frac, sv, integer=True).failures()
    assert "whole_racks" in set(_broken_int["rule"])
