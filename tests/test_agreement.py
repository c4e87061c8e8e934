"""The fast HiGHS path and the PuLP/CBC reference agree on seeded random small scenarios, and
every plan from either passes the independent checker."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import M, write_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import InfeasibleError, check_plan, load_scenario, solve

COUNTRIES = [("USA", 39.0, -77.5), ("DEU", 50.1, 8.7), ("POL", 52.2, 21.0), ("IND", 19.1, 72.9),
             ("CHN", 31.2, 121.5), ("JPN", 35.7, 139.7), ("ARE", 25.2, 55.3)]
POLICIES = ["aidr-2025", "aidr-2025-uveu", "nonenforced-2025-05", "none"]


def random_scenario(folder, seed: int):
    """2-7 sites, 1-3 chips, 1-5 markets, a small installed base, one preset policy."""
    rng = np.random.default_rng(seed)
    n_sites = int(rng.integers(2, 8))
    chips = [dict(sku=f"C{j}", tpp=float(rng.choice([0.5, 1, 2.5])) * M, power_kw=float(rng.uniform(0.5, 2)),
                  units_per_rack=int(rng.choice([4, 8, 10])), inventory=float(rng.integers(10, 200)),
                  capex_usd=float(rng.uniform(0, 10))) for j in range(int(rng.integers(1, 4)))]
    sites, installed = [], []
    for i in range(n_sites):
        iso, lat, lon = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        sites.append(dict(site_id=f"S{i}", country=iso, lat=lat + rng.normal(0, 2), lon=lon + rng.normal(0, 2),
                          power_mw=float(rng.uniform(0.01, 0.2)), racks=float(rng.integers(1, 30)),
                          energy_usd_per_mwh=float(rng.uniform(0, 100))))
        if iso == "USA" and rng.random() < 0.5:   # an installed base within the site's limits
            room = min(sites[-1]["racks"] * chips[0]["units_per_rack"],
                       sites[-1]["power_mw"] * 1000 / chips[0]["power_kw"])
            installed.append((f"S{i}", "C0", float(np.floor(room * rng.uniform(0.1, 0.9)))))
    markets = []
    for k in range(int(rng.integers(1, 6))):
        iso, lat, lon = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        markets.append(dict(market_id=f"M{k}", country=iso, lat=lat, lon=lon,
                            demand_tpp=float(rng.uniform(5, 200)) * M, value=float(rng.uniform(0.5, 3)),
                            max_rtt_ms=float(rng.choice([30, 120, 400])),
                            in_country_only=str(bool(rng.random() < 0.3)).lower()))
    write_scenario(folder, sites, chips, markets, installed=installed or None)
    return POLICIES[int(rng.integers(len(POLICIES)))]


def _solve(s, path):
    try:
        plan = solve(s, path=path)
    except InfeasibleError:
        return None
    report = check_plan(s, plan.placement, plan.service)
    assert report.ok, report.failures().to_string()
    return plan


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_fast_and_pulp_agree(tmp_path_factory, seed):
    folder = tmp_path_factory.mktemp("rand")
    policy = random_scenario(folder, seed)
    s = load_scenario(folder, policy)
    fast, ref = _solve(s, "fast"), _solve(s, "pulp")
    assert (fast is None) == (ref is None)
    if fast is not None:
        assert fast.summary["objective"] == pytest.approx(ref.summary["objective"], rel=1e-6, abs=1e-3)
