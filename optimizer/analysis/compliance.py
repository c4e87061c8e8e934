"""Cost of compliance: the same scenario under a baseline policy (for example ``none``), and the
difference in served demand, value and cost, in total and per country.

    plan_policy - plan_baseline   (negative value: what the policy costs)

Value is in the scenario's value unit (``value_unit``): USD per year when markets.csv gives
``usd_per_h100e_hour``, else abstract value units. Per country, ``value`` is the value served to
that country's markets; with dollars the margin change (revenue less annualised cost) is given too.

A change within CHANGE_REL (1e-6) of its total is reported as 0 (:func:`without_noise`): two
optimal plans may differ by about that much, so a baseline identical to the plan reports zeros.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.results.plan import Plan, country_compute, without_noise


def compare_to_baseline(plan: Plan, baseline: Plan) -> dict[str, Any]:
    """Differences (this plan minus the baseline plan), totals and per country."""
    a, b = plan.summary, baseline.summary
    countries = pd.concat({"tpp": _by_country(plan), "baseline_tpp": _by_country(baseline)}, axis=1).fillna(0.0)
    countries["change_tpp"] = without_noise(countries["tpp"] - countries["baseline_tpp"],
                                            max(countries["tpp"].sum(), countries["baseline_tpp"].sum()))
    countries = countries.loc[countries["change_tpp"].abs().sort_values(ascending=False).index]
    served_a, served_b = _served_by_country(plan), _served_by_country(baseline)
    served = pd.concat({"served_tpp": served_a, "baseline_served_tpp": served_b}, axis=1).fillna(0.0)
    countries = countries.join(served, how="outer").fillna(0.0)
    countries["change_served_tpp"] = without_noise(countries["served_tpp"] - countries["baseline_served_tpp"],
                                                   a["demand_tpp"])
    value = pd.concat({"value": _value_by_country(plan), "baseline_value": _value_by_country(baseline)}, axis=1)
    countries = countries.join(value, how="outer").fillna(0.0)
    largest_value = max(abs(a["objective"]), abs(b["objective"]))
    countries["change_value"] = without_noise(countries["value"] - countries["baseline_value"], largest_value)
    economics = plan.scenario.economics
    margin = lambda f: f["objective"] - f["cost"]["annualised_usd_per_year"]
    value_change = without_noise(a["objective"] - b["objective"], largest_value)
    change = lambda f: without_noise(f(a) - f(b), max(abs(f(a)), abs(f(b))))     # noqa: E731
    return {
        "baseline_policy": baseline.scenario.policy.name, "value_unit": economics.value_unit,
        "value": a["objective"], "baseline_value": b["objective"],
        "value_change": value_change,
        "value_change_pct": 100.0 * value_change / b["objective"] if b["objective"] else 0.0,
        "served_tpp_change": without_noise(a["served_tpp"] - b["served_tpp"], a["demand_tpp"]),
        "cost_change_usd": change(lambda f: f["cost"]["total_usd"]),
        "annualised_cost_change_usd_per_year": change(lambda f: f["cost"]["annualised_usd_per_year"]),
        "margin_change_usd_per_year": change(margin) if economics.dollars else None,
        "countries": [{"iso3": k, **{c: float(v) for c, v in row.items()}}
                      for k, row in countries.sort_values("change_tpp", key=abs, ascending=False).iterrows()],
    }


def _by_country(plan: Plan) -> pd.Series:
    """Compute per country as the policy counts it (a territory's is its sovereign's), as in the
    summary's ``countries`` and its limits."""
    return country_compute(plan.scenario, plan.placement)["tpp"]


def _served_by_country(plan: Plan) -> pd.Series:
    """Served TPP per country of the market, a territory's counted as its sovereign's."""
    return plan.service.groupby(_market_country(plan))["tpp"].sum()


def _value_by_country(plan: Plan) -> pd.Series:
    """Value served (Σ value x TPP) per country of the market, as :func:`_served_by_country`."""
    value = plan.service["tpp"] * plan.service["market_id"].map(plan.scenario.markets["value"])
    return value.groupby(_market_country(plan)).sum()


def _market_country(plan: Plan) -> pd.Series:
    """Per service row, the country of its market as the policy counts it."""
    s = plan.scenario
    return plan.service["market_id"].map(s.markets["country"]).map(lambda k: s.counts_as.get(k, k))
