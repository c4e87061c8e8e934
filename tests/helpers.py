"""Build small scenario folders for tests, and solve-and-audit in one call."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer import check_plan, load_scenario, solve

M = 1_000_000.0   # tests use tpp = 1e6 per unit so that 1 unit = 1 MTPP

ALL_PATHS = ("fast", "plain", "pulp")


def chip(sku="H", tpp=M, power_kw=1.0, units_per_rack=10, inventory=100.0, capex_usd=0.0) -> dict:
    return dict(sku=sku, tpp=tpp, power_kw=power_kw, units_per_rack=units_per_rack,
                inventory=inventory, capex_usd=capex_usd)


def site(site_id, country, lat=0.0, lon=0.0, power_mw=1000.0, racks=100000.0, **kw) -> dict:
    return dict(site_id=site_id, country=country, lat=lat, lon=lon, power_mw=power_mw,
                racks=racks, **kw)


def market(market_id, country, demand, lat=0.0, lon=0.0, value=1.0, max_rtt_ms=100.0,
           in_country_only=False) -> dict:
    return dict(market_id=market_id, country=country, lat=lat, lon=lon, demand_tpp=demand,
                value=value, max_rtt_ms=max_rtt_ms, in_country_only=str(in_country_only).lower())


def write_scenario(folder: Path, sites, chips, markets, installed=None, links=None,
                   policy: str | None = None, countries=None) -> Path:
    """Write CSVs (lists of dicts) and an optional policy.toml text into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(sites).to_csv(folder / "sites.csv", index=False)
    pd.DataFrame(chips).to_csv(folder / "chips.csv", index=False)
    pd.DataFrame(markets).to_csv(folder / "markets.csv", index=False)
    if installed is not None:
        pd.DataFrame(installed, columns=["site_id", "sku", "units"]).to_csv(folder / "installed.csv", index=False)
    if links is not None:
        pd.DataFrame(links).to_csv(folder / "links.csv", index=False)
    if countries is not None:
        pd.DataFrame(countries).to_csv(folder / "countries.csv", index=False)
    if policy is not None:
        (folder / "policy.toml").write_text(policy)
    return folder


def solve_checked(folder: Path, path: str = "fast", policy=None):
    """Solve, audit with the independent checker, and return the plan."""
    s = load_scenario(folder, policy)
    plan = solve(s, path=path)
    report = check_plan(s, plan.placement, plan.service)
    assert report.ok, report.failures().to_string()
    return plan


def new_units(plan, site_id: str, sku: str = "H") -> float:
    p = plan.placement.set_index(["site_id", "sku"])
    return float(p["new_units"].get((site_id, sku), 0.0))


def write_periods(folder: Path, periods, deliveries=None, capacity=None, demand=None) -> Path:
    """Add the multi-period files to a scenario folder: ``periods`` as (period, years[, discount
    [, policy]]) tuples, the others as (id, period, value...) tuples (see README 'Multi-period
    scenarios'). None leaves a file out."""
    columns = ["period", "years", "discount", "policy"]
    width = max(len(row) for row in periods)
    pd.DataFrame(periods, columns=columns[:width]).to_csv(folder / "periods.csv", index=False)
    for name, header, rows in (("deliveries.csv", ["sku", "period", "units"], deliveries),
                               ("capacity.csv", ["site_id", "period", "power_mw", "racks"], capacity),
                               ("demand.csv", ["market_id", "period", "demand_tpp"], demand)):
        if rows is not None:
            pd.DataFrame(rows, columns=header).to_csv(folder / name, index=False)
    return folder


def value_stage_model(tl):
    """The block path's value-stage model of a timeline: its data and the fast model on pools
    that ignore cost."""
    from optimizer.model.fast_periods import build_fast_timeline, timeline_network, timeline_pools
    from optimizer.model.periods import TimelineData
    td = TimelineData.from_timeline(tl)
    network = timeline_network(td)
    return td, build_fast_timeline(td, network=network, pools=timeline_pools(td, network.site_class, by_cost=False))
