"""Cost of compliance: the same scenario under a baseline policy (for example ``none``), and the
difference in served demand, value and cost, in total and per country.

    plan_policy - plan_baseline   (negative value: what the policy costs)

Value is in the scenario's value unit (``value_unit``): USD per year when markets.csv gives
``usd_per_h100e_hour``, else abstract value units. Per country, ``value`` is the value served to
that country's markets; with dollars the margin change (revenue less annualised cost) is given too.

A multi-period plan is compared with the same timeline under the baseline policy in every
period: per period as a snapshot, and over the horizon (:func:`compare_timeline_to_baseline`).

A change within CHANGE_REL (1e-6) of its total is reported as 0 (:func:`without_noise`): two
optimal plans may differ by about that much, so a baseline identical to the plan reports zeros.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from optimizer.inputs.economics import horizon_value_unit
from optimizer.inputs.timeline import Timeline
from optimizer.results.periods import TimelinePlan, timeline_economics
from optimizer.results.plan import Plan, country_compute, without_noise


def compare_to_baseline(plan: Plan, baseline: Plan) -> dict[str, Any]:
    """Differences (this plan minus the baseline plan), totals and per country."""
    a, b = plan.summary, baseline.summary
    countries = country_changes(plan, baseline, a["demand_tpp"], max(abs(a["objective"]), abs(b["objective"])))
    economics = plan.scenario.economics
    margin = lambda f: f["objective"] - f["cost"]["annualised_usd_per_year"]
    change = lambda f: without_noise(f(a) - f(b), max(abs(f(a)), abs(f(b))))     # noqa: E731
    return {
        "baseline_policy": baseline.scenario.policy.name, "value_unit": economics.value_unit,
        **value_changes(a, b),
        "cost_change_usd": change(lambda f: f["cost"]["total_usd"]),
        "annualised_cost_change_usd_per_year": change(lambda f: f["cost"]["annualised_usd_per_year"]),
        "margin_change_usd_per_year": change(margin) if economics.dollars else None,
        "countries": country_records(countries),
    }


def value_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, float]:
    """Value (``objective``) and served TPP of a plan's figures ``a`` against its baseline's
    ``b``: both values, the change and the change in % of the baseline's value."""
    value_change = without_noise(a["objective"] - b["objective"], max(abs(a["objective"]), abs(b["objective"])))
    return {"value": a["objective"], "baseline_value": b["objective"], "value_change": value_change,
            "value_change_pct": 100.0 * value_change / b["objective"] if b["objective"] else 0.0,
            "served_tpp_change": without_noise(a["served_tpp"] - b["served_tpp"], a["demand_tpp"])}


def country_changes(plan: Plan, baseline: Plan, demand_tpp: float, largest_value: float) -> pd.DataFrame:
    """Per country (as the policy counts it): fleet compute, served TPP and value served in each
    plan and their changes (plan - baseline; noise within CHANGE_REL of ``demand_tpp`` or
    ``largest_value`` is 0), largest compute change first."""
    countries = pd.concat({"tpp": _by_country(plan), "baseline_tpp": _by_country(baseline)}, axis=1).fillna(0.0)
    served = pd.concat({"served_tpp": _served_by_country(plan), "baseline_served_tpp": _served_by_country(baseline)},
                       axis=1).fillna(0.0)
    value = pd.concat({"value": _value_by_country(plan), "baseline_value": _value_by_country(baseline)}, axis=1)
    countries = countries.join(served, how="outer").join(value, how="outer").fillna(0.0)
    return with_changes(countries, demand_tpp, largest_value)


def with_changes(countries: pd.DataFrame, demand_tpp: float, largest_value: float) -> pd.DataFrame:
    """``countries`` (tpp, served_tpp, value and their baseline_ columns) with the change columns,
    largest compute change first."""
    countries = countries.assign(
        change_tpp=without_noise(countries["tpp"] - countries["baseline_tpp"],
                                 max(countries["tpp"].sum(), countries["baseline_tpp"].sum())),
        change_served_tpp=without_noise(countries["served_tpp"] - countries["baseline_served_tpp"], demand_tpp),
        change_value=without_noise(countries["value"] - countries["baseline_value"], largest_value))
    columns = [f"{side}{what}" for what in ("tpp", "served_tpp", "value") for side in ("", "baseline_", "change_")]
    return countries[columns].sort_values("change_tpp", key=abs, ascending=False)


def country_records(countries: pd.DataFrame) -> list[dict[str, Any]]:
    """The per-country table as summary.json keeps it: one object per country, iso3 first."""
    return [{"iso3": k, **{c: float(v) for c, v in row.items()}} for k, row in countries.iterrows()]


def compare_timeline_to_baseline(plan: TimelinePlan, baseline: TimelinePlan) -> dict[str, Any]:
    """The cost of compliance of a multi-period plan against the same timeline solved under the
    baseline policy in every period (plan - baseline).

    Per period (``periods``): the value served in the period (per year, in ``period_value_unit``), served
    TPP, the period's cost (capex of the units added + years x energy; undiscounted and
    discounted) and per country, as a snapshot's baseline. Over the horizon (the top-level fields,
    as the summary's totals count them): value = Σ_t years_t·discount_t·value_t (in
    ``value_unit``: USD with dollar values), served TPP summed over the periods, cost
    summed (``total_usd``) and discounted; per country the fleet compute at the end of the last
    period, served TPP summed and value weighted as the horizon's value."""
    tl = plan.timeline
    a, b = plan.summary, baseline.summary
    dollars = plan.scenario.economics.dollars
    periods, tables = [], []
    for p, ra, rb in zip(tl.periods, a["periods"], b["periods"]):
        sides = [Plan(*(table.loc[table["period"] == p.id] for table in (x.placement, x.service)), {}, q.scenario)
                 for x, q in ((plan, p), (baseline, baseline.timeline.period(p.id)))]
        table = country_changes(*sides, ra["demand_tpp"], max(abs(ra["objective"]), abs(rb["objective"])))
        tables.append(table)
        periods.append({"period": p.id, **value_changes(ra, rb),
                        "cost_change_usd": _change(ra["cost_usd"], rb["cost_usd"]),
                        "discounted_cost_change_usd": _change(ra["discounted_cost_usd"], rb["discounted_cost_usd"]),
                        **_money_changes(ra, rb, "_usd_per_year", dollars),
                        "countries": country_records(table)})
    economics = plan.scenario.economics
    return {
        "baseline_policy": baseline.timeline.periods[0].scenario.policy.name,
        "value_unit": horizon_value_unit(economics.value_unit), "period_value_unit": economics.value_unit,
        **value_changes(a, b),
        "cost_change_usd": _change(a["cost"]["total_usd"], b["cost"]["total_usd"]),
        "discounted_cost_change_usd": _change(a["cost"]["discounted_usd"], b["cost"]["discounted_usd"]),
        **_money_changes(*(timeline_economics(x.timeline, x.summary, "") for x in (plan, baseline)), "_usd", dollars),
        "countries": country_records(_horizon_countries(tl, tables, a["demand_tpp"],
                                                        max(abs(a["objective"]), abs(b["objective"])))),
        "periods": periods,
    }


def _horizon_countries(tl: Timeline, tables: list[pd.DataFrame], demand_tpp: float,
                       largest_value: float) -> pd.DataFrame:
    """Per country over the horizon: the fleet of the last period, served TPP summed over the
    periods, value weighted by each period's years x discount."""
    weights = [p.years * p.discount for p in tl.periods]
    served = pd.concat([t[["served_tpp", "baseline_served_tpp"]] for t in tables]).groupby(level=0).sum()
    value = pd.concat([w * t[["value", "baseline_value"]] for w, t in zip(weights, tables)]).groupby(level=0).sum()
    countries = pd.concat([tables[-1][["tpp", "baseline_tpp"]], served, value], axis=1).fillna(0.0)
    return with_changes(countries, demand_tpp, largest_value)


def _money_changes(a: Mapping[str, Any], b: Mapping[str, Any], suffix: str, dollars: bool) -> dict[str, Any]:
    """The annualised cost's and (with dollar values) the margin's change, from the fields
    ``annualised_cost{suffix}`` and ``margin{suffix}`` of a period record (per year) or of the
    timeline's economics (over the horizon, discounted; see
    :func:`optimizer.results.periods.timeline_economics`)."""
    cost, margin = f"annualised_cost{suffix}", f"margin{suffix}"
    return {f"annualised_cost_change{suffix}": _change(a[cost], b[cost]),
            f"margin_change{suffix}": _change(a[margin], b[margin]) if dollars else None}


def _change(mine: float, base: float) -> float:
    """mine - base, 0 when within CHANGE_REL of the larger."""
    return without_noise(mine - base, max(abs(mine), abs(base)))


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
