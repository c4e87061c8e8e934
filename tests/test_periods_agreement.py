"""The fast multi-period path (network reduction, pools across periods) against the plain
multi-period LP and the algebraic PuLP model, on random small timelines.

Each timeline has co-located sites (one serving class) energised together later (a merged
pool), sites whose room shrinks or grows twice (pools of their own), deliveries, demand that
changes, and a policy that moves between periods (a cap, a tier move, a home share). Every plan
is also checked period by period: stock never falls, availability, power and racks hold.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import M, chip, market, site, write_scenario
from timeline_helpers import timeline_from

from optimizer.errors import InfeasibleError
from optimizer.inputs.economics import USD_H100E_HOUR_TO_TPP_YEAR as PER_TPP_YEAR
from optimizer.planner.periods import solve_timeline

POLICIES = ['ban_tier3 = true\n',
            'home_country = "USA"\nmin_home_share = 0.4\nmax_tier2_country_share = 0.25\n',
            'tier2_country_cap_tpp = 30e6\nmin_tier1_share = 0.5\n',
            'min_tier1_share = 0.6\n[tiers]\nIND = 3\n']
COUNTRIES = [("USA", 40.0, -100.0), ("DEU", 50.0, 10.0), ("IND", 20.0, 78.0), ("POL", 52.0, 20.0)]


def random_timeline(tmp_path, seed: int, dollars: bool = False):
    """A random timeline (see the module docstring). ``dollars``: the same timeline with values in
    dollars (usd_per_h100e_hour giving the same value per TPP-year), capex x 1e6 (so a unit's
    annuity is near what it earns a year) and a random energy price per site, for the margin
    objective (tests/test_periods_money.py)."""
    rng = np.random.default_rng(seed)
    sites, power = [], {}
    for i in range(int(rng.integers(6, 10))):
        iso, lat, lon = COUNTRIES[int(rng.integers(len(COUNTRIES))) if i else 0]     # S0 (installed) in USA
        sites.append(site(f"S{i}", iso, lat=lat, lon=lon, power_mw=float(rng.choice([0.0, 0.03, 0.05])),
                          racks=float(rng.choice([4.0, 8.0, 100.0]))))
    chips = [chip("H", inventory=float(rng.integers(20, 60)), capex_usd=float(rng.integers(1, 5))),
             chip("B", tpp=2 * M, power_kw=1.5, units_per_rack=8, inventory=float(rng.integers(5, 30)),
                  capex_usd=float(rng.integers(3, 9)))]
    markets = [market(f"m{k}", iso, float(rng.integers(20, 120)) * M, lat=lat, lon=lon, max_rtt_ms=80.0,
                      value=float(rng.uniform(0.5, 2.0)))
               for k, (iso, lat, lon) in enumerate(COUNTRIES)]
    installed = [("S0", "H", 3.0)] if sites[0]["power_mw"] > 0.01 else None
    if dollars:
        money = np.random.default_rng(seed + 1000)
        chips = [{**c, "capex_usd": c["capex_usd"] * 1e6} for c in chips]
        sites = [{**s, "energy_usd_per_mwh": float(money.choice([0.0, 5e3, 1e4]))} for s in sites]
        markets = [{**{k: v for k, v in m.items() if k != "value"}, "usd_per_h100e_hour": m["value"] / PER_TPP_YEAR}
                   for m in markets]
    f = write_scenario(tmp_path, sites, chips, markets, installed=installed, policy=POLICIES[0])
    T = int(rng.integers(2, 4))
    late = [s["site_id"] for s in sites if rng.random() < 0.5]
    specs = []
    for t in range(T):
        power = {sid: 0.05 for sid in late if t >= 1}
        if t == T - 1 and len(sites) > 1:
            power[sites[-1]["site_id"]] = float(rng.choice([0.0, 0.08]))   # shrinks or grows again
        specs.append((f"P{t}", float(rng.choice([0.25, 0.5])), float(0.97 ** t), {
            "policy": POLICIES[int(rng.integers(len(POLICIES)))],
            "power_mw": power,
            "inventory": {"H": 40.0 + 30 * t, "B": 15.0 + 10 * t},
            "demand": {f"m{k}": float(rng.integers(20, 150)) * M for k in range(len(COUNTRIES))},
        }))
    return timeline_from(f, specs)


def solved(tl, path, objective="serve"):
    try:
        return solve_timeline(tl, path=path, objective=objective)
    except InfeasibleError:
        return None


@pytest.mark.parametrize("seed", range(8))
def test_fast_plain_and_pulp_agree(tmp_path, seed):
    tl = random_timeline(tmp_path, seed)
    plans = {path: solved(tl, path) for path in ("fast", "plain", "pulp")}
    if plans["plain"] is None:
        assert plans["fast"] is None and plans["pulp"] is None
        return
    value = plans["plain"].summary["objective"]
    assert plans["fast"].summary["objective"] == pytest.approx(value, rel=1e-9)
    for path, plan in plans.items():
        assert plan.summary["objective"] == pytest.approx(value, rel=1e-6, abs=1e-3), path
        assert plan.summary["cost"]["discounted_usd"] == pytest.approx(
            plans["plain"].summary["cost"]["discounted_usd"], rel=1e-4, abs=1e-3), path
        assert_period_rules(tl, plan)


def test_cost_stage_by_primal_simplex_on_large_models_gives_the_same_plan(tmp_path, monkeypatch):
    """From IPM_COST_STAGE_MAX_COLUMNS columns the cost stage is primal simplex from the value
    stage's basis (below, interior point): the same value and cost either way."""
    import optimizer.planner.periods as periods
    tl = random_timeline(tmp_path, 3)
    ipm = solved(tl, "fast")
    monkeypatch.setattr(periods, "IPM_COST_STAGE_MAX_COLUMNS", 0)
    primal = solved(tl, "fast")
    assert primal.summary["objective"] == pytest.approx(ipm.summary["objective"], rel=1e-9)
    assert primal.summary["cost"]["discounted_usd"] == pytest.approx(ipm.summary["cost"]["discounted_usd"], rel=1e-6)
    assert_period_rules(tl, primal)


def assert_period_rules(tl, plan):
    """Stock never falls, availability, power and racks hold in every period (tolerance 1e-6)."""
    p = plan.placement
    before = None
    for period in tl.periods:
        s = period.scenario
        rows = p.loc[p["period"] == period.id].set_index(["site_id", "sku"])
        stock = (rows["units"] - rows["installed_units"])
        if before is not None:
            assert (stock.reindex(before.index).fillna(0.0) >= before - 1e-6).all()
        by_sku = stock.groupby(level="sku").sum()
        assert (by_sku <= s.chips["inventory"].reindex(by_sku.index) + 1e-6).all()
        by_site = rows.groupby(level="site_id")[["power_kw", "racks"]].sum()
        assert (by_site["power_kw"] <= s.sites["power_mw"].reindex(by_site.index) * 1000 + 1e-6).all()
        assert (by_site["racks"] <= s.sites["racks"].reindex(by_site.index) + 1e-6).all()
        before = stock


def test_merged_pool_across_periods(tmp_path):
    """Three co-located DEU sites energised together from P1 (one pool) and a fourth with its
    own shape (room in P0, more in P2): the fast model pools the three, and the plan splits
    them back within each site's room in every period."""
    from optimizer.model.fast_periods import build_fast_timeline
    from optimizer.model.periods import TimelineData
    sites = [site(f"D{i}", "DEU", lat=50.0, lon=10.0, power_mw=0.0, racks=3.0 + i) for i in range(3)]
    sites.append(site("D3", "DEU", lat=50.0, lon=10.0, power_mw=0.01, racks=100.0))
    f = write_scenario(tmp_path, sites, [chip(inventory=200)], [market("de", "DEU", 200 * M, lat=50.0, lon=10.0)],
                       policy=POLICIES[0])
    power = {f"D{i}": 1.0 for i in range(3)}
    tl = timeline_from(f, [("P0", 0.25, 1.0, {"inventory": {"H": 5}}),
                           ("P1", 0.25, 1.0, {"power_mw": power, "inventory": {"H": 40}}),
                           ("P2", 0.25, 1.0, {"power_mw": {**power, "D3": 0.02}, "inventory": {"H": 200}})])
    fm = build_fast_timeline(TimelineData.from_timeline(tl))
    assert fm.pools[0].n == 2 and fm.merged.sum() == 1
    fast, plain = solve_timeline(tl, path="fast"), solve_timeline(tl, path="plain")
    assert fast.summary["objective"] == pytest.approx(plain.summary["objective"], rel=1e-9)
    assert fast.summary["objective"] == pytest.approx(0.25 * (5 + 40 + (3 + 4 + 5) * 10 + 20) * M, rel=1e-9)
    assert_period_rules(tl, fast)


def test_telescoped_stock_cost_is_the_discounted_cost_of_additions(tmp_path):
    """Σ_t stock_cost_t·n_t + the installed constant = Σ_t disc_t·(capex·(n_t - n_{t-1}) +
    years_t·energy·(installed + n_t)) for any stock path n (model units, MUSD)."""
    from optimizer.model.data import MUSD, UNIT
    from optimizer.model.periods import TimelineData
    tl = random_timeline(tmp_path, 5)
    td = TimelineData.from_timeline(tl)
    rng = np.random.default_rng(0)
    S, C = td.first.n_sites, td.first.n_chips
    n = np.cumsum(rng.uniform(0, 1, (len(td.periods), S, C)), axis=0)
    telescoped = sum((td.stock_cost(t) * n[t]).sum() for t in range(len(td.periods))) + td.installed_cost_usd / MUSD
    capex = td.first.scenario.chips["capex_usd"].to_numpy() * UNIT / MUSD
    energy = td.first.scenario.energy_usd_per_unit().to_numpy() * UNIT / MUSD
    direct, before = 0.0, np.zeros((S, C))
    for t, p in enumerate(td.periods):
        direct += p.discount * ((capex * (n[t] - before)).sum() + p.years * (energy * n[t]).sum()
                                + p.years * p.d.installed_cost_usd / MUSD)
        before = n[t]
    assert telescoped == pytest.approx(direct, rel=1e-12)
