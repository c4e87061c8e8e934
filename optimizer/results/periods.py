"""A multi-period plan in planner terms: placement and service per period, and its summary.

Built once from the new stock at the end of each period and the service of each period (any
path gives these), as :mod:`optimizer.results.plan` and :mod:`optimizer.results.summary` do for
a snapshot. The files (the contract with the multi-period checker)::

    placement.csv  site_id, country, tier, sku, period, installed_units, new_units, units, tpp,
                   power_kw, racks   one row per site, sku and period with units > 0; units =
                   stock at the end of the period (installed + new stock), new_units = added in
                   the period, tier = in the period's policy; tpp, power_kw, racks of units
    service.csv    market_id, site_id, period, tpp, rtt_ms

Each period's figures (served, shares, limits, physical limits at capacity) are the snapshot
figures of that period's scenario on its stock (:func:`optimizer.results.summary.plan_figures`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.inputs.countries import policy_record
from optimizer.inputs.timeline import Timeline
from optimizer.policy.rules import Family
from optimizer.results.plan import ZERO, Plan, placement_table, service_table
from optimizer.results.summary import freeze, plan_cost, plan_figures
from optimizer.solvers.result import SolveResult

H100E_TPP = 15_832.0
SHARES = (Family.HOME_SHARE.value, Family.TIER1_SHARE.value)     # the summary's share fields


@dataclass(frozen=True, eq=False)
class TimelinePlan(Plan):
    """A multi-period plan: the tables have a ``period`` column, the summary a ``periods`` list;
    ``scenario`` is the first period's (with the timeline's folder), ``timeline`` all of them."""

    timeline: Timeline | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PeriodSolution:
    """What any path gives for one period: new stock per (site_id, sku) in units at the end of
    the period, service per pair (positions and TPP), and the period's prices (may be empty)."""

    stock: pd.Series
    market_pos: np.ndarray
    site_pos: np.ndarray
    served: np.ndarray
    prices: Mapping[str, Any] = field(default_factory=dict)


def monotone_stocks(stocks: list[pd.Series]) -> list[pd.Series]:
    """The stocks with any fall within solver tolerance removed (a running maximum): the model
    keeps n_t >= n_{t-1} up to its feasibility tolerance, the plan keeps it exactly."""
    out: list[pd.Series] = []
    for stock in stocks:
        stock = stock.clip(lower=0.0)
        if out:
            stock = stock.combine(out[-1], max, fill_value=0.0)
        out.append(stock)
    return out


def period_tables(tl: Timeline, sols: list[PeriodSolution]) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Per period: the snapshot placement table of its stock (new_units = stock beyond the
    installed base) and its service table (with rtt_ms)."""
    stocks = monotone_stocks([sol.stock for sol in sols])
    snap = [placement_table(p.scenario, stock) for p, stock in zip(tl.periods, stocks)]
    service = [service_table(p.scenario, sol.market_pos, sol.site_pos, sol.served)
               for p, sol in zip(tl.periods, sols)]
    return snap, service


def with_added_units(tl: Timeline, snap: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Each period's rows with ``new_units`` = units added in the period (stock at its end less
    stock at the end of the one before) and a ``period`` column after ``sku``."""
    out, before = [], pd.Series(dtype=float)
    for p, table in zip(tl.periods, snap):
        key = pd.MultiIndex.from_frame(table[["site_id", "sku"]])
        stock = pd.Series(table["new_units"].to_numpy(), index=key)
        added = (stock - before.reindex(key).fillna(0.0).to_numpy()).clip(lower=0.0)
        table = table.assign(new_units=added.where(added > ZERO, 0.0).to_numpy())
        table.insert(4, "period", p.id)
        out.append(table)
        before = stock
    return out


def timeline_tables(tl: Timeline, snap: list[pd.DataFrame],
                    service: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """placement.csv and service.csv of the whole plan (periods in time order)."""
    placement = pd.concat(with_added_units(tl, snap), ignore_index=True)
    svc = [table.assign(period=p.id) for p, table in zip(tl.periods, service)]
    service_all = pd.concat(svc, ignore_index=True)[["market_id", "site_id", "period", "tpp", "rtt_ms"]]
    return placement, service_all


def period_record(p, figures: Mapping[str, Any], added: pd.DataFrame, prices: Mapping[str, Any],
                  fixed_usd: float = 0.0) -> dict:
    """One entry of summary.json ``periods``: the period's snapshot figures, the units added by
    sku, its cost (capex of the units added + years x annual energy of the stock + ``fixed_usd``,
    the fixed costs of the sites built in it; undiscounted, and discounted), the annualised cost
    of its stock per year (the annuity of every new unit in stock + a year of energy, what the
    margin objective charges) and its prices."""
    cost = plan_cost(p.scenario, added)
    energy = cost["energy_usd_per_year"] * p.years
    period_cost = cost["capex_usd"] + energy + fixed_usd
    annual = figures["cost"]["annualised_usd_per_year"]
    return {
        "period": p.id, "years": p.years, "discount": p.discount, "policy": policy_record(p.scenario),
        **{k: figures[k] for k in ("objective", "served_tpp", "demand_tpp", "served_pct", "total_tpp",
                                   "installed_tpp", "new_tpp", *SHARES, "countries",
                                   "limits", "binding_limits", "physical_binding")},
        "new_units": {str(k): float(v) for k, v in added.groupby("sku")["new_units"].sum().items() if v > 0},
        "cost_usd": period_cost, "capex_usd": cost["capex_usd"], "energy_usd": energy, "fixed_usd": fixed_usd,
        "discounted_cost_usd": p.discount * period_cost,
        "annualised_cost_usd_per_year": annual,
        "margin_usd_per_year": figures["objective"] - annual if p.scenario.economics.dollars else None,
        "prices": dict(prices),
    }


def timeline_figures(tl: Timeline, sols: list[PeriodSolution]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """placement.csv, service.csv and the figures of the summary: ``periods`` and the totals
    (value over the horizon Σ_t years_t·disc_t·value_t, served and demand summed over the
    periods, the fleet, shares and countries of the last period, every period's limits with its
    ``period``, binding limits as ``name@period``, costs summed)."""
    snap, service = period_tables(tl, sols)
    placement, service_all = timeline_tables(tl, snap, service)
    fixed = fixed_cost_by_period(tl, placement)
    periods = []
    for p, table, svc, sol, added in zip(tl.periods, snap, service, sols,
                                         [placement.loc[placement["period"] == q.id] for q in tl.periods]):
        periods.append(period_record(p, plan_figures(p.scenario, table, svc), added, sol.prices, fixed[p.id]))
    last = periods[-1]
    served, demand = sum(r["served_tpp"] for r in periods), sum(r["demand_tpp"] for r in periods)
    figures = {
        "objective": sum(r["objective"] * p.years * p.discount for r, p in zip(periods, tl.periods)),
        "served_tpp": served, "demand_tpp": demand,
        "served_pct": 100.0 * served / demand if demand > 0 else 100.0,
        **{k: last[k] for k in ("total_tpp", "installed_tpp", "new_tpp", *SHARES, "countries",
                                "physical_binding")},
        "new_units": float(placement["new_units"].sum()),
        "cost": {"capex_usd": sum(r["capex_usd"] for r in periods),
                 "energy_usd": sum(r["energy_usd"] for r in periods),
                 "fixed_usd": sum(r["fixed_usd"] for r in periods),
                 "total_usd": sum(r["cost_usd"] for r in periods),
                 "discounted_usd": sum(r["discounted_cost_usd"] for r in periods)},
        "limits": [{**lim, "period": r["period"]} for r in periods for lim in r["limits"]],
        "binding_limits": [f"{name}@{r['period']}" for r in periods for name in r["binding_limits"]],
        "periods": periods,
    }
    return placement, service_all, figures


def timeline_economics(tl: Timeline, figures: Mapping[str, Any], objective: str) -> dict[str, Any]:
    """The objective maximized, the money settings, where the periods' discount came from, and
    over the horizon (each period's figure per year x years x discount, in USD): revenue (the
    plan's objective), the annualised cost of the stock and the margin; revenue and margin null
    with abstract values."""
    dollars = tl.first.economics.dollars
    annual = sum(r["annualised_cost_usd_per_year"] * p.years * p.discount for r, p in zip(figures["periods"], tl.periods))
    revenue = figures["objective"] if dollars else None
    return {"objective": objective, **tl.first.economics.record(), "discount_from": tl.discount_from,
            "revenue_usd": revenue, "annualised_cost_usd": annual,
            "margin_usd": revenue - annual if dollars else None}


def fixed_cost_by_period(tl: Timeline, placement: pd.DataFrame) -> dict[str, float]:
    """Per period, sites.csv fixed_cost_usd of the sites that get their first new units in it
    (a site's fixed cost is paid once, when it is built)."""
    first = placement.loc[placement["new_units"] > 0].groupby("site_id")["period"].first()   # rows in time order
    fixed = tl.first.sites["fixed_cost_usd"].reindex(first.index).to_numpy(float)
    by_period = pd.Series(fixed).groupby(first.to_numpy()).sum()
    return {pid: float(by_period.get(pid, 0.0)) for pid in tl.ids}


def build_timeline_summary(tl: Timeline, result: SolveResult, figures: Mapping[str, Any], *, path: str,
                           mode: str, model: Mapping[str, int], notes: list[str],
                           timings: Mapping[str, float], soft: Mapping[str, Any] | None = None,
                           frozen: Mapping[str, Any] | None = None, objective: str = "serve",
                           integer: Mapping[str, Any] | None = None,
                           baseline: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The whole multi-period summary, read-only (see optimizer.results.summary.build_summary)."""
    blocks = {"soft": soft, "freeze": frozen, "integer": integer, "baseline": baseline}
    return freeze({
        "scenario": tl.name, "status": result.status.value, "termination": result.termination.value,
        "mode": "multi-period", "lp_mode": mode, "path": path, "solver": result.solver,
        "period_ids": tl.ids,
        **figures, "economics": timeline_economics(tl, figures, objective),
        "policy": policy_record(tl.first), "model": model, "timings": timings, "notes": notes,
        **{name: block for name, block in blocks.items() if block is not None},
    })
