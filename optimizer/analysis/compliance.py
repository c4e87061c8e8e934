"""Cost of compliance: the same scenario under a baseline policy (for example ``none``), and the
difference in served demand, value and cost, in total and per country.

    plan_policy - plan_baseline   (negative value: what the policy costs)
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.results.plan import Plan, country_compute


def compare_to_baseline(plan: Plan, baseline: Plan) -> dict[str, Any]:
    """Differences (this plan minus the baseline plan), totals and per country."""
    a, b = plan.summary, baseline.summary
    countries = pd.concat({"tpp": _by_country(plan), "baseline_tpp": _by_country(baseline)}, axis=1).fillna(0.0)
    countries["change_tpp"] = countries["tpp"] - countries["baseline_tpp"]
    countries = countries.loc[countries["change_tpp"].abs().sort_values(ascending=False).index]
    served_a, served_b = _served_by_country(plan), _served_by_country(baseline)
    served = pd.concat({"served_tpp": served_a, "baseline_served_tpp": served_b}, axis=1).fillna(0.0)
    countries = countries.join(served, how="outer").fillna(0.0)
    countries["change_served_tpp"] = countries["served_tpp"] - countries["baseline_served_tpp"]
    return {
        "baseline_policy": baseline.scenario.policy.name,
        "value": a["objective"], "baseline_value": b["objective"],
        "value_change": a["objective"] - b["objective"],
        "value_change_pct": 100.0 * (a["objective"] - b["objective"]) / b["objective"] if b["objective"] else 0.0,
        "served_tpp_change": a["served_tpp"] - b["served_tpp"],
        "cost_change_usd": a["cost"]["total_usd"] - b["cost"]["total_usd"],
        "countries": [{"iso3": k, **{c: float(v) for c, v in row.items()}}
                      for k, row in countries.sort_values("change_tpp", key=abs, ascending=False).iterrows()],
    }


def _by_country(plan: Plan) -> pd.Series:
    """Compute per country as the policy counts it (a territory's is its sovereign's), as in the
    summary's ``countries`` and its limits."""
    return country_compute(plan.scenario, plan.placement)["tpp"]


def _served_by_country(plan: Plan) -> pd.Series:
    """Served TPP per country of the market, a territory's counted as its sovereign's."""
    s = plan.scenario
    country = plan.service["market_id"].map(s.markets["country"])
    return plan.service.groupby(country.map(lambda k: s.counts_as.get(k, k)))["tpp"].sum()
