"""links.csv under the markets' own rules: a linked pair still obeys its market's
in_country_only and max_rtt_ms (the link's rtt_ms when given, else the great-circle estimate),
in the model and in the checker alike; the pairs these rules drop are counted in a note.

Conventions as in test_hand_solved: chip ``H``, 1 unit = 1 MTPP, 1 kW per unit, value 1 per TPP.
"""
from __future__ import annotations

import dataclasses

import pytest
from helpers import ALL_PATHS, M, chip, market, new_units, site, solve_checked, write_scenario

from optimizer import check_plan, load_scenario, solve


def _linked(tmp_path, links, **market_kw):
    """Sites US (Virginia, plenty of power) and AE (Abu Dhabi, power for 10 units); one market of
    50 MTPP in the United Arab Emirates; policy without limits."""
    return write_scenario(tmp_path, [site("US", "USA", 38.9, -77.4), site("AE", "ARE", 24.5, 54.4, power_mw=0.01)],
                          [chip(inventory=100)], [market("ae", "ARE", 50 * M, 24.5, 54.4, **market_kw)],
                          links=links, policy="ban_tier3 = false\n")


@pytest.mark.parametrize("path", ALL_PATHS)
def test_in_country_only_holds_for_linked_pairs(tmp_path, path):
    """ae is in_country_only: the link ae-US (1 ms) may not serve; only AE's 10 units do."""
    f = _linked(tmp_path, [{"market_id": "ae", "site_id": "US", "rtt_ms": 1.0},
                           {"market_id": "ae", "site_id": "AE", "rtt_ms": 1.0}], in_country_only=True)
    plan = solve_checked(f, path)
    assert new_units(plan, "US") == pytest.approx(0, abs=1e-6)
    assert plan.summary["objective"] == pytest.approx(10 * M, rel=1e-6)
    assert any("links.csv: 1 linked pair" in n and "in_country_only" in n for n in plan.summary["notes"])


def test_max_rtt_holds_for_the_links_rtt_and_the_estimate(tmp_path):
    """max_rtt_ms 60: ae-US given 500 ms is dropped; ae-US2 with rtt blank is ~11,000 km away
    (estimate ~165 ms), dropped too; ae-AE (blank, 0 km) serves."""
    f = write_scenario(tmp_path, [site("US", "USA", 38.9, -77.4), site("US2", "USA", 38.9, -77.4),
                                  site("AE", "ARE", 24.5, 54.4, power_mw=0.01)],
                       [chip(inventory=100)], [market("ae", "ARE", 50 * M, 24.5, 54.4, max_rtt_ms=60.0)],
                       links=[{"market_id": "ae", "site_id": "US", "rtt_ms": 500.0},
                              {"market_id": "ae", "site_id": "US2", "rtt_ms": None},
                              {"market_id": "ae", "site_id": "AE", "rtt_ms": None}],
                       policy="ban_tier3 = false\n")
    s = load_scenario(f)
    assert any("links.csv: 2 linked pairs" in n and "max_rtt_ms" in n for n in s.notes)
    plan = solve_checked(f)
    assert plan.summary["objective"] == pytest.approx(10 * M, rel=1e-6)


def test_a_link_within_the_limit_still_serves(tmp_path):
    """A given rtt_ms within max_rtt_ms serves even where the great-circle estimate would not
    (the link's measured time wins): ae-US at 50 ms <= 60 serves the 40 MTPP AE cannot."""
    f = _linked(tmp_path, [{"market_id": "ae", "site_id": "US", "rtt_ms": 50.0},
                           {"market_id": "ae", "site_id": "AE", "rtt_ms": None}], max_rtt_ms=60.0)
    plan = solve_checked(f)
    assert plan.summary["objective"] == pytest.approx(50 * M, rel=1e-6)
    assert not any("links.csv" in n for n in plan.summary["notes"])


def test_check_flags_a_linked_pair_that_breaks_in_country_only(tmp_path):
    """A plan served over ae-US, audited against the same scenario with ae in_country_only: the
    checker's eligibility rule fails on ae/US (it applies the market's rules to linked pairs)."""
    f = _linked(tmp_path, [{"market_id": "ae", "site_id": "US", "rtt_ms": 1.0},
                           {"market_id": "ae", "site_id": "AE", "rtt_ms": 1.0}])
    s = load_scenario(f)
    plan = solve(s)
    assert new_units(plan, "US") > 0
    strict = dataclasses.replace(s, markets=s.markets.assign(in_country_only=True))
    report = check_plan(strict, plan.placement, plan.service)
    bad = report.failures()
    assert "service_pairs_eligible" in set(bad["rule"]), bad
