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
    rows = []
    for name, blk in lp.row_blocks.items():
        if blk.family in ("home_share", "tier1_share", "tier2_share"):
            rows.append((name, blk.family, str(blk.index[0]), y[blk.start] * fleet_model * 0.01 * MTPP))
        elif blk.family == "tier2_cap":
            rows.append((name, blk.family, str(blk.index[0]), y[blk.start] * H100E_TPP * 1000))
    for family, scale in (("power", MTPP), ("racks", MTPP)):
        blk = lp.row_blocks[family]
        prices = y[blk.slice] * scale
        sites = np.flatnonzero(fm.pools.pool_of_site >= 0)
        site_price = prices[fm.pools.pool_of_site[sites]]
        for s_pos, price in zip(sites, site_price):
            rows.append((f"{family}[{d.scenario.sites.index[s_pos]}]", family, d.scenario.sites.index[s_pos], price))
    inv = lp.row_blocks["inventory"]
    for sku, price in zip(inv.index, y[inv.slice] * MTPP / UNIT):
        rows.append((f"inventory[{sku}]", "inventory", sku, price))
    u = lp.var_blocks["u"]
    for market, rc in zip(u.index, result.col_duals[u.slice] if result.col_duals is not None else []):
        rows.append((f"demand[{market}]", "demand", market, rc * H100E_TPP))
    table = pd.DataFrame(rows, columns=["limit", "family", "scope", "value_per_unit"])
    table["unit"] = table["family"].map(UNITS)
    table = table.loc[table["value_per_unit"].abs() > DUAL_TOL]
    order = table["value_per_unit"].abs().sort_values(ascending=False).index
    return table.loc[order, ["limit", "family", "scope", "unit", "value_per_unit"]].reset_index(drop=True)


def unserved_demand(d: ModelData, plan: Plan, prices: pd.DataFrame) -> pd.DataFrame:
    """Markets not fully served, with the reason: no eligible site, policy, or capacity."""
    s = d.scenario
    served = plan.service.groupby("market_id")["tpp"].sum().reindex(s.markets.index, fill_value=0.0)
    short = s.markets["demand_tpp"] - served
    bits = d.eligibility
    eligible = np.unpackbits(bits, axis=1, count=len(s.markets)).astype(bool) if bits.size else \
        np.zeros((len(s.sites), len(s.markets)), bool)
    binding_countries = set(prices.loc[prices["family"].isin(["tier2_share", "tier2_cap"]), "scope"])
    home_or_t1 = prices["family"].isin(["home_share", "tier1_share"]).any()
    rows = []
    for m_pos, market in enumerate(s.markets.index):
        gap = float(short.iloc[m_pos])
        if gap <= 1e-6 * max(1.0, float(s.markets["demand_tpp"].iloc[m_pos])):
            continue
        countries = set(s.sites["country"].to_numpy()[eligible[:, m_pos]])
        if not countries:
            reason = "no eligible site" + (" (only Tier-3 sites in reach)" if s.policy.ban_tier3 else "")
        elif countries <= binding_countries:
            reason = "policy: " + ", ".join(sorted(f"limit of {k}" for k in countries))
        elif home_or_t1 and not (countries & {s.policy.home_country}):
            reason = "policy: home/Tier-1 share binds; capacity outside them is limited"
        else:
            reason = "capacity: eligible sites or inventory are used up"
        rows.append({"market_id": market, "demand_tpp": float(s.markets["demand_tpp"].iloc[m_pos]),
                     "served_tpp": float(served.iloc[m_pos]), "unserved_tpp": gap, "reason": reason})
    return pd.DataFrame(rows, columns=["market_id", "demand_tpp", "served_tpp", "unserved_tpp", "reason"])
