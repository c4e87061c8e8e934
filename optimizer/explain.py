"""Why the plan looks the way it does: shadow prices in planner units, and unserved demand.

Shadow prices come from the value stage's duals (HiGHS convention for a maximization: a row's
dual is ∂objective/∂(its active bound)). Each is turned into "objective gained per unit of
headroom" — positive when loosening the limit by one unit would add value:

=================  ==========================  ============================================
limit              unit                        from the row dual y (model units)
=================  ==========================  ============================================
home, Tier-1       +1 percentage point         y·T·0.01·MTPP  (T: fleet compute; raising a
share (minimum)    of the minimum              minimum is tightening, so this is <= 0)
Tier-2 share       +1 percentage point         y·T·0.01·MTPP  (>= 0)
Tier-2 cap         +1,000 H100e (15.832M TPP)  y·15,832,000
site power         +1 MW                       y·MTPP
site racks         +1 rack                     y·MTPP
chip inventory     +1 unit                     y·MTPP / UNIT
market demand      +1 H100e (15,832 TPP)       reduced cost of u_m · 15,832
=================  ==========================  ============================================

The shares' rows are written on totals (N_k - share·N vs share·I - I_k); moving the share by Δ
moves the row's right-hand side by Δ·T to first order, hence the factor T.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .fastmodel import FastModel
from .modeldata import MTPP, UNIT, ModelData
from .plan import Plan
from .result import SolveResult

H100E_TPP = 15_832.0
DUAL_TOL = 1e-9
UNITS = {"home_share": "per +1 pp of the minimum", "tier1_share": "per +1 pp of the minimum",
         "tier2_share": "per +1 pp of the maximum", "tier2_cap": "per +1,000 H100e of cap",
         "power": "per +1 MW", "racks": "per +1 rack", "inventory": "per +1 unit",
         "demand": "per +1 H100e of demand"}


def shadow_prices(d: ModelData, fm: FastModel, result: SolveResult) -> pd.DataFrame:
    """One row per limit with a nonzero price: limit, family, scope, unit, value_per_unit."""
    lp, y = fm.lp, result.row_duals
    fleet_model = d.installed_total + float(result.x[lp.var_blocks["N"].slice].sum())
    policy = []
    for name, blk in lp.row_blocks.items():
        if blk.family in ("home_share", "tier1_share", "tier2_share"):
            policy.append((name, blk.family, str(blk.index[0]), y[blk.start] * fleet_model * 0.01 * MTPP))
        elif blk.family == "tier2_cap":
            policy.append((name, blk.family, str(blk.index[0]), y[blk.start] * H100E_TPP * 1000))
    frames = [pd.DataFrame(policy, columns=["limit", "family", "scope", "value_per_unit"])]
    sites = np.flatnonzero(fm.pools.pool_of_site >= 0)
    site_ids = d.scenario.sites.index.to_numpy()[sites].astype(str)
    for family in ("power", "racks"):       # a pool's price holds for each of its sites
        prices = y[lp.row_blocks[family].slice][fm.pools.pool_of_site[sites]] * MTPP
        frames.append(_priced(family, site_ids, prices))
    inv = lp.row_blocks["inventory"]
    frames.append(_priced("inventory", inv.index.to_numpy().astype(str), y[inv.slice] * MTPP / UNIT))
    if result.col_duals is not None:
        u = lp.var_blocks["u"]
        frames.append(_priced("demand", u.index.to_numpy().astype(str), result.col_duals[u.slice] * H100E_TPP))
    table = pd.concat(frames, ignore_index=True)
    table["unit"] = table["family"].map(UNITS)
    table = table.loc[table["value_per_unit"].abs() > DUAL_TOL]
    order = table["value_per_unit"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order, ["limit", "family", "scope", "unit", "value_per_unit"]].reset_index(drop=True)


def _priced(family: str, scope: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    keep = np.abs(value) > DUAL_TOL
    scope = scope[keep]
    return pd.DataFrame({"limit": np.char.add(np.char.add(f"{family}[", scope), "]"), "family": family,
                         "scope": scope, "value_per_unit": value[keep]})


def unserved_demand(d: ModelData, plan: Plan, prices: pd.DataFrame) -> pd.DataFrame:
    """Markets not fully served, with the reason: no eligible site, policy, or capacity."""
    s = d.scenario
    demand = s.markets["demand_tpp"].to_numpy(float)
    served = plan.service.groupby("market_id")["tpp"].sum().reindex(s.markets.index, fill_value=0.0).to_numpy()
    short = np.flatnonzero(demand - served > 1e-6 * np.maximum(1.0, demand))
    bits = d.eligibility
    eligible = (np.unpackbits(bits, axis=1, count=len(s.markets)).astype(bool) if bits.size
                else np.zeros((len(s.sites), len(s.markets)), bool))
    countries = s.sites["country"].to_numpy()
    binding_countries = set(prices.loc[prices["family"].isin(["tier2_share", "tier2_cap"]), "scope"])
    home_or_t1 = prices["family"].isin(["home_share", "tier1_share"]).any()
    reasons = []
    for m_pos in short:
        reach = set(countries[eligible[:, m_pos]])
        if not reach:
            reasons.append("no eligible site" + (" (only Tier-3 sites in reach)" if s.policy.ban_tier3 else ""))
        elif reach <= binding_countries:
            reasons.append("policy: " + ", ".join(sorted(f"limit of {k}" for k in reach)))
        elif home_or_t1 and s.policy.home_country not in reach:
            reasons.append("policy: home/Tier-1 share binds; capacity outside them is limited")
        else:
            reasons.append("capacity: eligible sites or inventory are used up")
    return pd.DataFrame({"market_id": s.markets.index.to_numpy()[short], "demand_tpp": demand[short],
                         "served_tpp": served[short], "unserved_tpp": demand[short] - served[short],
                         "reason": pd.Series(reasons, dtype="str")}, columns=["market_id", "demand_tpp", "served_tpp", "unserved_tpp", "reason"])
