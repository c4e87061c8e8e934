"""summary.json: the plan described in numbers (fields documented in the README)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.inputs.countries import policy_record
from optimizer.inputs.scenario import Scenario
from optimizer.policy.rules import Family
from optimizer.results.plan import country_compute, physical_binding, policy_limits
from optimizer.solvers.result import SolveResult


def build_summary(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame,
                  result: SolveResult, path: str,
                  counts: dict[str, int]) -> dict[str, Any]:
    """Everything a planner reads first: served demand, compute, cost, shares, limits."""
    demand = float(s.markets["demand_tpp"].sum())
    served = float(service["tpp"].sum())
    countries = country_compute(s, placement)
    total = float(countries["tpp"].sum())
    limits = policy_limits(s, placement)
    home, tier1 = Family.HOME_SHARE.value, Family.TIER1_SHARE.value
    lim = {l["family"]: l for l in limits if l["family"] in (home, tier1)}
    return {
        "scenario": s.name,
        "status": result.status.value,
        "mode": "lp",
        "path": path,
        "solver": result.solver,
        "objective": float((service["tpp"] * s.markets["value"].reindex(service["market_id"]).to_numpy()).sum()),
        "served_tpp": served,
        "demand_tpp": demand,
        "served_pct": 100.0 * served / demand if demand > 0 else 100.0,
        "total_tpp": total,
        "installed_tpp": float((placement["installed_units"] * s.chips["tpp"].reindex(placement["sku"]).to_numpy()).sum()),
        "new_tpp": float((placement["new_units"] * s.chips["tpp"].reindex(placement["sku"]).to_numpy()).sum()),
        "new_units": float(placement["new_units"].sum()),
        "cost": plan_cost(s, placement),
        home: lim[home]["value"] if home in lim else _home_share(s, countries, total),
        tier1: lim[tier1]["value"] if tier1 in lim else
        float(countries.loc[countries["tier"] == 1, "tpp"].sum() / total) if total else 0.0,
        "countries": [{"iso3": k, "tier": int(r.tier), "tpp": float(r.tpp), "share": float(r.share)}
                      for k, r in countries.iterrows()],
        "limits": limits,
        "binding_limits": [l["name"] for l in limits if l["binding"]],
        "physical_binding": physical_binding(s, placement, service),
        "policy": policy_record(s),
        "model": counts,
        "timings": {},
    }


def plan_cost(s: Scenario, placement: pd.DataFrame) -> dict[str, float]:
    """capex of new units + one year of energy of all units + fixed costs of sites built (USD)."""
    capex = float((placement["new_units"] * s.chips["capex_usd"].reindex(placement["sku"]).to_numpy()).sum())
    energy_table = s.energy_usd_per_unit().stack()
    per_unit = energy_table.reindex(pd.MultiIndex.from_frame(placement[["site_id", "sku"]])).to_numpy()
    energy = float((placement["units"].to_numpy() * per_unit).sum())
    built = placement.loc[placement["new_units"] > 0, "site_id"].unique()
    fixed = float(s.sites["fixed_cost_usd"].reindex(built).sum())
    return {"capex_usd": capex, "energy_usd_per_year": energy, "fixed_usd": fixed,
            "total_usd": capex + energy + fixed}


def _home_share(s: Scenario, countries: pd.DataFrame, total: float) -> float:
    home = s.policy.home_country
    return float(countries["tpp"].get(home, 0.0) / total) if home and total else 0.0
