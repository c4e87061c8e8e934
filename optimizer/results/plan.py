"""A plan in planner terms: placement and service tables plus the summary, from a solution.

Built from labelled solution values (new units per site and sku, served TPP per pair) so every
backend and formulation shares it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.inputs.scenario import Scenario
from optimizer.model.eligibility import pair_rtt_ms
from optimizer.policy.rules import AT_LEAST, SHARE, TPP, Limit
from optimizer.solvers.result import LEXICOGRAPHIC_REL_TOL

ZERO = 1e-9               # units below this are written as 0
SERVED_ZERO_TPP = 1e-3     # served TPP below this is dropped from service.csv
BINDING_REL = 1e-6   # a limit binds when its slack is within this fraction of its bound
CHANGE_REL = 1e-6    # a difference between two plans within this fraction of the total is reported as 0


@dataclass(frozen=True, eq=False)
class Plan:
    """Placement and service tables with the summary that describes them: finished and
    immutable (assigning a field raises; the summary is read-only, see optimizer.results.summary;
    the tables are not frozen, but nothing in fleetopt changes them)."""

    placement: pd.DataFrame
    service: pd.DataFrame
    summary: Mapping[str, Any]
    scenario: Scenario = field(repr=False)
    prices: pd.DataFrame | None = None     # shadow prices in planner units (fast path)
    unserved: pd.DataFrame | None = None   # markets not fully served, with the reason


def placement_table(s: Scenario, new_units: pd.Series) -> pd.DataFrame:
    """One row per site and sku with units > 0: installed, new, totals of TPP, kW and racks."""
    inst = s.installed_matrix().stack()
    inst.index.names = ["site_id", "sku"]
    new = new_units.clip(lower=0.0)
    new = new.where(new > ZERO, 0.0).groupby(level=["site_id", "sku"]).sum()
    table = pd.concat({"installed_units": inst, "new_units": new}, axis=1).fillna(0.0)
    table["units"] = table["installed_units"] + table["new_units"]
    table = table.loc[table["units"] > ZERO].reset_index()
    chips = s.chips.loc[table["sku"]]
    sites = s.sites.loc[table["site_id"]]
    table.insert(1, "country", sites["country"].to_numpy())
    table.insert(2, "tier", sites["tier"].to_numpy())
    table["tpp"] = table["units"] * chips["tpp"].to_numpy()
    table["power_kw"] = table["units"] * chips["power_kw"].to_numpy()
    table["racks"] = table["units"] / chips["units_per_rack"].to_numpy()
    return table.sort_values(["site_id", "sku"]).reset_index(drop=True)


def service_table(s: Scenario, market_pos: np.ndarray, site_pos: np.ndarray,
                  tpp: np.ndarray) -> pd.DataFrame:
    """One row per market-site pair with served TPP > 0 (positions into the scenario's markets
    and sites), with the pair's round-trip time."""
    table = pd.DataFrame({"m": market_pos, "s": site_pos, "tpp": tpp})
    table = table.groupby(["m", "s"], as_index=False)["tpp"].sum()
    table = table.loc[table["tpp"] > SERVED_ZERO_TPP]
    m, site = table["m"].to_numpy(), table["s"].to_numpy()
    out = pd.DataFrame({"market_id": s.markets.index.to_numpy()[m], "site_id": s.sites.index.to_numpy()[site],
                        "tpp": table["tpp"].to_numpy(), "rtt_ms": pair_rtt_ms(s, m, site)})
    return out.sort_values(["market_id", "site_id"]).reset_index(drop=True)


def country_compute(s: Scenario, placement: pd.DataFrame) -> pd.DataFrame:
    """TPP and share of the whole fleet per country as the policy counts it (a territory's
    compute is its sovereign's, see optimizer.inputs.countries), with tier."""
    by = placement.groupby(placement["site_id"].map(s.sites["policy_country"]).rename("country"))["tpp"].sum()
    total = float(by.sum())
    table = pd.DataFrame({"tpp": by, "share": by / total if total > 0 else 0.0})
    table["tier"] = [s.tier_of(k) for k in table.index]
    return table.sort_values("tpp", ascending=False)


def policy_limits(s: Scenario, placement: pd.DataFrame) -> list[dict[str, Any]]:
    """Every policy limit in force (optimizer.policy.rules) with value, bound, slack (>= 0 when
    met) and whether it binds; a limit kept by closing sites (the Tier-3 ban) binds when one of
    its sites has power and racks."""
    countries = country_compute(s, placement)
    total = float(countries["tpp"].sum())
    codes, by_country = countries.index.to_numpy(), countries["tpp"].to_numpy()
    records = []
    for lim in s.limits():
        if lim.enforced == "off":
            continue
        tpp = float(by_country[np.isin(codes, list(lim.members))].sum())
        value = (tpp / total if total > 0 else 0.0) if lim.unit == SHARE else tpp
        record = _limit(lim, value, total == 0)
        if lim.enforced == "columns":
            usable = s.sites.loc[s.sites["policy_country"].isin(lim.members), ["power_mw", "racks"]]
            record["binding"] = bool(((usable["power_mw"] > 0) & (usable["racks"] > 0)).any())
        records.append(record)
    return records


def _limit(lim: Limit, value: float, empty_fleet: bool) -> dict:
    """A limit's record; a share limit of an empty fleet holds vacuously (T_G - a·T = 0)."""
    slack = value - lim.bound if lim.sense == AT_LEAST else lim.bound - value
    if empty_fleet and lim.unit == SHARE:
        slack = 0.0
    scale = max(abs(lim.bound), 1.0 if lim.unit == TPP else 1e-3)
    return {"name": lim.name, "family": lim.family.value, "scope": lim.scope, "value": value,
            "bound": lim.bound, "sense": lim.sense, "unit": lim.unit, "slack": slack,
            "binding": bool(abs(slack) <= BINDING_REL * scale), "description": lim.description}


def physical_binding(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame) -> dict[str, list]:
    """Ids of sites, skus and markets whose physical limit is met with equality (a sku: to within
    the units the cost stage may leave idle, see :func:`idle_allowance_units`)."""
    by_site = placement.groupby("site_id")[["power_kw", "racks"]].sum().reindex(s.sites.index).fillna(0.0)
    new_by_sku = placement.groupby("sku")["new_units"].sum().reindex(s.chips.index).fillna(0.0)
    served = service.groupby("market_id")["tpp"].sum().reindex(s.markets.index).fillna(0.0)
    tight = lambda used, lim, tol=0.0: list(used.index[(lim - used) <= np.maximum(BINDING_REL * np.maximum(lim, 1.0),
                                                                               tol)])
    inventory = s.chips["inventory"]
    return {
        "power_sites": tight(by_site["power_kw"], s.sites["power_mw"] * 1000.0),
        "rack_sites": tight(by_site["racks"], s.sites["racks"]),
        "inventory_skus": [k for k in tight(new_by_sku, inventory, idle_allowance_units(s, service))
                           if inventory[k] > 0 and new_by_sku[k] > 0],
        "demand_met_markets": tight(served, s.markets["demand_tpp"]),
    }


IDLE_SHARE_MAX = 1e-3    # a sku with more than this share of its inventory left is never "used up"


def idle_allowance_units(s: Scenario, service: pd.DataFrame) -> pd.Series:
    """Units of each sku that the cost stage may leave idle. It keeps the value within
    LEXICOGRAPHIC_REL_TOL of the optimum, so it may give up V = 1e-7 x the value for a lower cost,
    i.e. V / (TPP per unit x the lowest value per TPP) units (1.2 H200 in the sample); twice that,
    as the solver's own tolerances come on top, and never above IDLE_SHARE_MAX of the inventory."""
    value = s.markets["value"].reindex(service["market_id"]).to_numpy(float) @ service["tpp"].to_numpy(float)
    positive = s.markets["value"][s.markets["value"] > 0]
    if not len(positive) or value <= 0:
        return pd.Series(0.0, index=s.chips.index)
    allowance = 2 * LEXICOGRAPHIC_REL_TOL * value / (s.chips["tpp"] * positive.min())
    return np.minimum(allowance, IDLE_SHARE_MAX * s.chips["inventory"])


def without_noise(change, total: float):
    """``change`` (a number or a Series) with each value within CHANGE_REL x |total| of zero set to
    0.0 (never -0.0). Two optimal plans of the same fleet may differ by about that much: the cost
    stage may give up LEXICOGRAPHIC_REL_TOL (1e-7) of the value for a lower cost, and so leave
    fractions of a unit idle in one plan and not in the other."""
    tol = CHANGE_REL * abs(total)
    if isinstance(change, pd.Series):
        return change.where(change.abs() > tol, 0.0) + 0.0
    return float(change) + 0.0 if abs(change) > tol else 0.0


SIGNIFICANT_DIGITS = 10    # numbers in written plan tables; the checker's tolerance is 1e-6 relative
# How far a number read from a plan file may lie from the plan's own: twice the most its rounding
# to SIGNIFICANT_DIGITS significant digits moves it (5e-10 of itself).
FILE_PRECISION = 10.0 ** (1 - SIGNIFICANT_DIGITS)


def written_table(table: pd.DataFrame) -> pd.DataFrame:
    """A plan table as it is written (plan files) and shown (the report, so that ``solve --report``
    and ``report`` of the written folder agree): every float rounded to SIGNIFICANT_DIGITS
    significant digits.

    The solver's arithmetic leaves noise in the last bits (power_kw 2035.1999999999998); rounding
    only here, where tables leave fleetopt, never in the model, removes it and moves no value by
    more than 5e-10 of itself, far inside the checker's tolerances (1e-6 relative, 1e-7 on
    shares), so a plan's verdict cannot change. The plan in memory keeps the full values."""
    out = table.copy()
    for col in out.columns[[pd.api.types.is_float_dtype(d) for d in out.dtypes]]:
        out[col] = round_significant(out[col].to_numpy(dtype=float), SIGNIFICANT_DIGITS)
    return out


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Each value rounded to ``digits`` significant digits (the float nearest that decimal, so
    it prints short); zero, NaN and infinities unchanged. x * 10^k is rounded to an integer and
    divided back, with 10^k exact (|k| <= 22; values below 1e-13 round to 0)."""
    out = values.copy()
    live = np.isfinite(values) & (values != 0)
    x = values[live]
    k = digits - 1 - np.floor(np.log10(np.abs(x))).astype(int)
    k = np.clip(k, -22, 22)
    scale = 10.0 ** np.abs(k)
    out[live] = np.where(k >= 0, np.rint(x * scale) / scale, np.rint(x / scale) * scale)
    return out
