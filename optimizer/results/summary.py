"""summary.json: the plan described in numbers (fields documented in the README).

A summary is built once, by :func:`build_summary`, from every part a solve gathers, and is
read-only from then on (:class:`ReadOnlyDict`, nested dicts and lists too): a mutation raises
TypeError instead of changing a plan that may already be written. Writing adds the write
timing and the run manifest to a shallow copy, never to the plan's summary (:func:`thaw` gives
a changeable deep copy).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.inputs.countries import policy_record
from optimizer.inputs.scenario import Scenario
from optimizer.policy.rules import Family
from optimizer.results.plan import country_compute, physical_binding, policy_limits
from optimizer.solvers.result import SolveResult


def plan_figures(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame) -> dict[str, Any]:
    """The numbers a plan's tables give: served demand, compute, cost, shares, limits (the part
    of the summary that needs no solver detail; the analysis blocks read it too)."""
    demand = float(s.markets["demand_tpp"].sum())
    served = float(service["tpp"].sum())
    countries = country_compute(s, placement)
    total = float(countries["tpp"].sum())
    limits = policy_limits(s, placement)
    home, tier1 = Family.HOME_SHARE.value, Family.TIER1_SHARE.value
    lim = {l["family"]: l for l in limits if l["family"] in (home, tier1)}
    return {
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
        "licence_required_sites": licence_required_sites(s, placement),
    }


def licence_required_sites(s: Scenario, placement: pd.DataFrame) -> list[dict[str, Any]]:
    """Sites holding units in a country the policy lists in ``licence_required`` (by the site's
    own code or the one it counts as): a flag for the planner, not a limit of the plan."""
    flagged = set(s.policy.licence_required)
    if not flagged or placement.empty:
        return []
    held = placement.loc[placement["units"] > 0].groupby("site_id")[["units", "tpp"]].sum()
    sites = s.sites.reindex(held.index)
    hit = sites["country"].isin(flagged) | sites["policy_country"].isin(flagged)
    return [{"site_id": k, "country": sites.at[k, "country"], "units": float(r.units), "tpp": float(r.tpp)}
            for k, r in held.loc[hit].iterrows()]


def build_summary(s: Scenario, result: SolveResult, figures: Mapping[str, Any], *, path: str, mode: str,
                  model: Mapping[str, int], notes: list[str], timings: Mapping[str, float],
                  integer: Mapping[str, Any] | None = None, soft: Mapping[str, Any] | None = None,
                  explain: Mapping[str, Any] | None = None,
                  baseline: Mapping[str, Any] | None = None, objective: str = "serve") -> ReadOnlyDict:
    """The whole summary, read-only: what was solved and how, the plan's figures
    (:func:`plan_figures`), its money (:func:`economics_block`), and the blocks present for this
    run (integer, soft, explain, baseline)."""
    blocks = {"integer": integer, "soft": soft, "explain": explain, "baseline": baseline}
    return freeze({
        "scenario": s.name, "status": result.status.value, "termination": result.termination.value,
        "mode": mode, "path": path, "solver": result.solver,
        **figures, "economics": economics_block(s, figures, objective),
        "policy": policy_record(s), "model": model, "timings": timings, "notes": notes,
        **{name: block for name, block in blocks.items() if block is not None},
    })


def economics_block(s: Scenario, figures: Mapping[str, Any], objective: str) -> dict[str, Any]:
    """The objective maximized, the unit of the values, and, when values are dollars, revenue
    (the plan's value), annualised cost and margin, all in USD per year (null otherwise)."""
    dollars = s.economics.dollars
    revenue = figures["objective"] if dollars else None
    annual = figures["cost"]["annualised_usd_per_year"]
    return {"objective": objective, **s.economics.record(), "revenue_usd_per_year": revenue,
            "annualised_cost_usd_per_year": annual,
            "margin_usd_per_year": revenue - annual if dollars else None}


def plan_cost(s: Scenario, placement: pd.DataFrame) -> dict[str, float]:
    """capex of new units + one year of energy of all units + fixed costs of sites built (USD);
    beside it the annualised cost: capex and fixed costs as annuities (capex x CRF over each
    sku's life, fixed_cost_usd x CRF over economics.toml fixed_cost_life_years, see
    optimizer.inputs.economics) + the same year of energy (USD per year)."""
    capex = float((placement["new_units"] * s.chips["capex_usd"].reindex(placement["sku"]).to_numpy()).sum())
    annual_capex = float((placement["new_units"] * s.annualised_capex_usd().reindex(placement["sku"]).to_numpy()).sum())
    energy = float((placement["units"].to_numpy() * energy_per_unit(s, placement)).sum())
    built = placement.loc[placement["new_units"] > 0, "site_id"].unique()
    fixed = float(s.sites["fixed_cost_usd"].reindex(built).sum())
    annual_fixed = float(s.annualised_fixed_cost_usd().reindex(built).sum())
    return {"capex_usd": capex, "energy_usd_per_year": energy, "fixed_usd": fixed,
            "total_usd": capex + energy + fixed, "annualised_capex_usd_per_year": annual_capex,
            "annualised_fixed_usd_per_year": annual_fixed,
            "annualised_usd_per_year": annual_capex + annual_fixed + energy}


def energy_per_unit(s: Scenario, placement: pd.DataFrame) -> np.ndarray:
    """A year of energy per unit (USD) of each placement row's site and sku
    (:meth:`Scenario.energy_usd_per_unit`), NaN for a site or sku the scenario does not have;
    read by position (a MultiIndex reindex of the stacked table took 3-4 ms a call)."""
    site = s.sites.index.get_indexer(placement["site_id"])
    sku = s.chips.index.get_indexer(placement["sku"])
    known = (site >= 0) & (sku >= 0)
    return np.where(known, s.energy_usd_per_unit().to_numpy(float)[site, sku], np.nan)


def _home_share(s: Scenario, countries: pd.DataFrame, total: float) -> float:
    home = s.policy.home_country
    return float(countries["tpp"].get(home, 0.0) / total) if home and total else 0.0


READ_ONLY = "a plan's summary is read-only (built once by build_summary); change a copy: thaw(summary)"


class ReadOnlyDict(dict):
    """A dict that refuses every change (TypeError); json, pickle and == treat it as a dict."""

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise TypeError(READ_ONLY)

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse

    def __reduce__(self):
        return ReadOnlyDict, (dict(self),)


class ReadOnlyList(list):
    """A list that refuses every change (TypeError); json, pickle and == treat it as a list."""

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise TypeError(READ_ONLY)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self):
        return ReadOnlyList, (list(self),)


def freeze(obj: Any) -> Any:
    """``obj`` with every mapping and list in it made read-only (a new object; scalars as they are)."""
    if isinstance(obj, (str, float, int)):     # most leaves: skip the slower Mapping check
        return obj
    if isinstance(obj, Mapping):
        return ReadOnlyDict({k: freeze(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        frozen = [freeze(v) for v in obj]
        return ReadOnlyList(frozen) if isinstance(obj, list) else tuple(frozen)
    return obj


def thaw(obj: Any) -> Any:
    """A plain, changeable deep copy of a (read-only) summary: dicts and lists."""
    if isinstance(obj, Mapping):
        return {k: thaw(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [thaw(v) for v in obj] if isinstance(obj, list) else tuple(thaw(v) for v in obj)
    return obj
