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
market demand      +1 H100e (15,832 TPP)       max(0, reduced cost of u_m) · 15,832
=================  ==========================  ============================================

The demand price is the reduced cost of u_m only when u_m sits at its upper bound (the demand):
a market left at zero has a negative reduced cost, which is the price of its *lower* bound (what
forcing one more TPP into it would cost), not of its demand; more demand there adds nothing.

The shares' rows are written on totals (N_k - share·N vs share·I - I_k); moving the share by Δ
moves the row's right-hand side by Δ·T to first order, hence the factor T.

Each price says over what range of its limit it holds (``valid_from``..``valid_to``, in the
limit's own unit ``limit_unit``; an open end is infinite): for right-hand-side limits from HiGHS
ranging of the value stage's basis (``range`` = ``ranging``), for a pooled site's power or racks
also kept inside its pool's type cone (optimizer/model/pools.py); for share limits, whose bound sits in
the matrix, by re-solving at ±0.01 pp (:func:`probe_share_prices`, ``range`` = ``probe``).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.inputs.economics import H100E_TPP
from optimizer.model.data import MTPP, UNIT, ModelData
from optimizer.model.eligibility import banned_in_reach
from optimizer.model.fast import FastModel
from optimizer.model.lp import LinearProgram
from optimizer.policy.rules import AT_LEAST, AT_MOST, ROW_FAMILIES, SHARE, SHARE_FAMILIES, limit_unit, price_unit
from optimizer.results.plan import Plan
from optimizer.solvers.result import Ranging, SolveResult, Status

DUAL_TOL = 1e-9
HIGHS_INF = 1e30          # HiGHS reports an open range end as +-1e30 or beyond
SHARE_PROBE = 1e-4        # 0.01 percentage point
UNITS = {**{f.value: price_unit(f) for f in ROW_FAMILIES}, "power": "per +1 MW", "racks": "per +1 rack",
         "inventory": "per +1 unit", "demand": "per +1 H100e of demand"}
LIMIT_UNITS = {**{f.value: limit_unit(f) for f in ROW_FAMILIES}, "power": "MW", "racks": "racks",
               "inventory": "units", "demand": "TPP"}
COLUMNS = ["limit", "family", "scope", "unit", "value_per_unit", "limit_value", "limit_unit",
           "valid_from", "valid_to", "range"]


def shadow_prices(d: ModelData, fm: FastModel, result: SolveResult) -> pd.DataFrame:
    """One row per limit with a nonzero price: limit, family, scope, unit, value_per_unit, the
    limit's present value, and the range over which the price holds (see the module docstring)."""
    lp, y, rng = fm.lp, result.row_duals, result.ranging
    frames = [_policy_prices(d, lp, y, result, rng)]
    sites = np.flatnonzero(fm.pools.pool_of_site >= 0)
    site_ids = d.scenario.sites.index.to_numpy()[sites].astype(str)
    cone = _cone_limits(d, fm, sites)
    for family, column in (("power", "power_mw"), ("racks", "racks")):   # a pool's price holds per site
        rows = lp.row_blocks[family].start + fm.pools.pool_of_site[sites]
        value = d.scenario.sites[column].to_numpy(float)[sites]
        lo, hi = _row_range(lp, rng, rows, value, 1.0)
        frames.append(_priced(family, site_ids, y[rows] * MTPP, value, np.maximum(lo, cone[family][0]),
                              np.minimum(hi, cone[family][1]), rng is not None))
    inv = lp.row_blocks["inventory"]
    rows = np.arange(inv.start, inv.start + inv.size)
    value = d.scenario.chips["inventory"].to_numpy(float)
    frames.append(_priced("inventory", inv.index.to_numpy().astype(str), y[rows] * MTPP / UNIT, value,
                          *_row_range(lp, rng, rows, value, UNIT), rng is not None))
    if result.col_duals is not None:
        frames.append(_demand_prices(d, lp, result, rng))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["unit"] = table["family"].map(UNITS)
    table["limit_unit"] = table["family"].map(LIMIT_UNITS)
    table = table.loc[table["value_per_unit"].abs() > DUAL_TOL]
    order = table["value_per_unit"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order, COLUMNS].reset_index(drop=True)


def _policy_prices(d: ModelData, lp: LinearProgram, y: np.ndarray, result: SolveResult,
                   rng: Ranging | None) -> pd.DataFrame:
    """Share prices (per pp, no range until probed) and amount prices (per 1,000 H100e, ranged)."""
    fleet_model = d.installed_total + float(result.x[lp.var_blocks["N"].slice].sum())
    rows = []
    for lim in d.limits:
        blk = lp.row_blocks[lim.row]
        if lim.unit == SHARE:
            price = y[blk.start] * fleet_model * 0.01 * MTPP
            rows.append((lim.row, blk.family, lim.scope, price, 100.0 * lim.bound, np.nan, np.nan, "none"))
        else:
            lo, hi = _row_range(lp, rng, np.array([blk.start]), np.array([lim.bound]), MTPP)
            rows.append((lim.row, blk.family, lim.scope, y[blk.start] * H100E_TPP * 1000, lim.bound, lo[0],
                         hi[0], "ranging" if rng is not None else "none"))
    return pd.DataFrame(rows, columns=["limit", "family", "scope", "value_per_unit", "limit_value",
                                       "valid_from", "valid_to", "range"])


def _demand_prices(d: ModelData, lp: LinearProgram, result: SolveResult, rng: Ranging | None) -> pd.DataFrame:
    """max(0, reduced cost of u_m): a market below its demand has no demand price."""
    u = lp.var_blocks["u"]
    cols = np.arange(u.start, u.start + u.size)
    price = np.maximum(result.col_duals[cols], 0.0) * H100E_TPP
    demand = d.scenario.markets["demand_tpp"].to_numpy(float)
    lo = hi = np.full(len(cols), np.nan)
    if rng is not None:
        at_upper = rng.col_at_upper[cols]
        shift = lambda r: demand + (_open(r[cols]) - lp.col_hi[cols]) * MTPP
        lo, hi = np.where(at_upper, shift(rng.col_dn), np.nan), np.where(at_upper, shift(rng.col_up), np.nan)
    return _priced("demand", u.index.to_numpy().astype(str), price, demand, lo, hi, rng is not None)


def _open(v: np.ndarray) -> np.ndarray:
    """HiGHS's +-1e30 as infinities."""
    return np.where(np.abs(v) >= HIGHS_INF, np.copysign(np.inf, v), v)


def _row_range(lp: LinearProgram, rng: Ranging | None, rows: np.ndarray, value: np.ndarray,
               scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The range of a <= row's bound, moved onto the limit's own value: value + (end - rhs)·scale."""
    if rng is None:
        return np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    rhs = lp.row_hi[rows]
    return value + (_open(rng.row_dn[rows]) - rhs) * scale, value + (_open(rng.row_up[rows]) - rhs) * scale


def _cone_limits(d: ModelData, fm: FastModel, sites: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For sites in pools of several sites: the power_mw and racks range that keeps the site in
    its pool's type cone (outside it the pool, and so the price, would change); open otherwise."""
    s = d.scenario
    open_range = (np.full(len(sites), -np.inf), np.full(len(sites), np.inf))
    size = np.bincount(fm.pools.pool_of_site[sites], minlength=fm.pools.n)[fm.pools.pool_of_site[sites]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.unique(np.where(d.power > 0, d.racks / np.where(d.power > 0, d.power, 1), np.inf))
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios) or not (size > 1).any():
        return {"power": open_range, "racks": open_range}
    inst_p, inst_r = d.inst_power[sites], d.inst_racks[sites]
    P = s.sites["power_mw"].to_numpy(float)[sites] - inst_p
    R = s.sites["racks"].to_numpy(float)[sites] - inst_r
    cone = (R[:, None] > ratios[None, :] * P[:, None]).sum(axis=1)      # as pools.type_cone
    r_above = np.append(ratios, np.inf)[cone]                          # ratios[cone], or none
    r_below = np.insert(ratios, 0, 0.0)[cone]                          # ratios[cone - 1], or 0
    multi = size > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = np.where(multi, inst_p + R / r_above, -np.inf)
        p_hi = np.where(multi & (r_below > 0), inst_p + R / np.where(r_below > 0, r_below, 1), np.inf)
    r_lo = np.where(multi, inst_r + r_below * P, -np.inf)
    r_hi = np.where(multi, inst_r + r_above * P, np.inf)
    return {"power": (p_lo, p_hi), "racks": (r_lo, r_hi)}


def _priced(family: str, scope: np.ndarray, value: np.ndarray, limit_value: np.ndarray,
            lo: np.ndarray, hi: np.ndarray, ranged: bool) -> pd.DataFrame:
    keep = np.abs(value) > DUAL_TOL
    scope = scope[keep]
    return pd.DataFrame({"limit": np.char.add(np.char.add(f"{family}[", scope), "]"), "family": family,
                         "scope": scope, "value_per_unit": value[keep], "limit_value": limit_value[keep],
                         "valid_from": lo[keep], "valid_to": hi[keep], "range": "ranging" if ranged else "none"})


def probe_share_prices(lp: LinearProgram, prices: pd.DataFrame, installed_total: float, optimum: float,
                       options: dict | None = None) -> pd.DataFrame:
    """Re-solve with each priced share limit moved by -0.01 and +0.01 pp (a share's bound sits in
    the matrix, so no ranging): ``price_below`` and ``price_above`` are the objective's change per
    pp on each side. When both equal the dual price (rel. 1e-6) the price holds over the probed
    interval (``valid_from``..``valid_to``); otherwise ``range_note`` says the price changes there."""
    from optimizer.solvers.highs import solve_lp
    out = prices.copy()
    out["price_below"], out["price_above"], out["range_note"] = np.nan, np.nan, ""
    for i in np.flatnonzero(out["family"].isin(SHARE_FAMILIES)):
        row = lp.row_blocks[out.at[i, "limit"]].start
        moved = {}
        for step in (-SHARE_PROBE, SHARE_PROBE):
            probe = solve_lp(share_moved(lp, row, step, installed_total), options=options, lexicographic=False)
            moved[step] = probe.objective if probe.status == Status.OPTIMAL else np.nan
        below = (optimum - moved[-SHARE_PROBE]) / (100 * SHARE_PROBE) * MTPP
        above = (moved[SHARE_PROBE] - optimum) / (100 * SHARE_PROBE) * MTPP
        price, pct = out.at[i, "value_per_unit"], out.at[i, "limit_value"]
        out.at[i, "price_below"], out.at[i, "price_above"] = below, above
        if np.allclose([below, above], price, rtol=1e-6, atol=1e-6 * max(1.0, abs(optimum) * MTPP)):
            out.at[i, "valid_from"], out.at[i, "valid_to"] = pct - 100 * SHARE_PROBE, pct + 100 * SHARE_PROBE
        else:
            out.at[i, "range_note"] = (f"price changes within 0.01 pp: {below:+,.0f} just below, "
                                       f"{above:+,.0f} just above")
        out.at[i, "range"] = "probe"
    return out


def share_moved(lp: LinearProgram, row: int, step: float, installed_total: float) -> LinearProgram:
    """``lp`` with the share limit of ``row`` (N_k - a·N vs a·I - I_k) moved from a to a + step."""
    n_col = lp.var_blocks["N"].start
    A = lp.A.tocsr(copy=True)
    lo, hi = A.indptr[row], A.indptr[row + 1]
    k = lo + int(np.flatnonzero(A.indices[lo:hi] == n_col)[0])
    A.data[k] -= step
    row_lo, row_hi = lp.row_lo.copy(), lp.row_hi.copy()
    row_lo[row] += step * installed_total
    row_hi[row] += step * installed_total
    return dataclasses.replace(lp, A=A, row_lo=row_lo, row_hi=row_hi)


def _costs_more_than_it_earns(d: ModelData, eligible: np.ndarray) -> np.ndarray:
    """Per market: value_m below the cheapest margin cost per TPP-year (annualised cost / tpp,
    margin objective only; zeros otherwise) of any sku with inventory at any open eligible site."""
    s = d.scenario
    stocked = s.chips["inventory"].to_numpy(float) > 0
    values = s.markets["value"].to_numpy(float)
    if stocked.any() and not d.margin_cost.any():      # every open site costs 0 (the serve objective)
        return values < np.where(eligible[d.open_sites].any(axis=0), 0.0, np.inf)
    per_tpp = d.margin_cost[:, stocked] / d.tpp[stocked] if stocked.any() else np.full((d.n_sites, 1), np.inf)
    cheapest = np.full(d.n_sites, np.inf)
    cheapest[d.open_sites] = per_tpp[d.open_sites].min(axis=1)       # MUSD per MTPP = USD per TPP
    reach = np.where(eligible, cheapest[:, None], np.inf).min(axis=0)
    return values < reach


def countries_in_reach(eligible: np.ndarray, country_of_site: np.ndarray, n_countries: int,
                       markets: np.ndarray, chunk: int = 256) -> np.ndarray:
    """countries x ``markets``: True where a site of that country is eligible for that market
    (the country index of each site in ``country_of_site``); one sparse product per ``chunk``
    markets, so the dense block stays at sites x chunk."""
    n_sites = len(country_of_site)
    onehot = sp.csr_matrix((np.ones(n_sites, np.float32), (country_of_site, np.arange(n_sites))),
                           shape=(n_countries, n_sites))
    out = np.zeros((n_countries, len(markets)), bool)
    for lo in range(0, len(markets), chunk):
        block = eligible[:, markets[lo:lo + chunk]].astype(np.float32)
        out[:, lo:lo + chunk] = (onehot @ block) > 0
    return out


def unserved_demand(d: ModelData, plan: Plan, prices: pd.DataFrame) -> pd.DataFrame:
    """Markets not fully served, with the reason: no eligible site, policy, margin (under the
    margin objective: every new unit within reach costs more per year than it earns there), or
    capacity."""
    s = d.scenario
    demand = s.markets["demand_tpp"].to_numpy(float)
    served = plan.service.groupby("market_id")["tpp"].sum().reindex(s.markets.index, fill_value=0.0).to_numpy()
    short = np.flatnonzero(demand - served > 1e-6 * np.maximum(1.0, demand))
    bits = d.eligibility
    eligible = (np.unpackbits(bits, axis=1, count=len(s.markets)).astype(bool) if bits.size
                else np.zeros((len(s.sites), len(s.markets)), bool))
    # limits are on the country a site counts as
    codes, country_of_site = np.unique(s.sites["policy_country"].to_numpy(str), return_inverse=True)
    in_reach = countries_in_reach(eligible, country_of_site, len(codes), short)
    priced = {lim.row: lim for lim in d.limits if lim.row in set(prices["limit"])}
    binding_countries = set().union(*(lim.members for lim in priced.values() if lim.sense == AT_MOST))
    home_or_t1 = any(lim.sense == AT_LEAST for lim in priced.values())
    banned = dict(zip(short, banned_in_reach(s, short)))
    dearer = _costs_more_than_it_earns(d, eligible)
    reasons = []
    for j, m_pos in enumerate(short):
        reach = set(codes[in_reach[:, j]])
        if not reach:
            reasons.append("no eligible site" + (" (only Tier-3 sites in reach)" if banned[m_pos] else ""))
        elif reach <= binding_countries:
            reasons.append("policy: " + ", ".join(sorted(f"limit of {k}" for k in reach)))
        elif home_or_t1 and s.policy.home_country not in reach:
            reasons.append("policy: home/Tier-1 share binds; capacity outside them is limited")
        elif dearer[m_pos]:
            reasons.append("margin: every new unit within reach costs more per year than it earns here")
        else:
            reasons.append("capacity: eligible sites or inventory are used up")
    return pd.DataFrame({"market_id": s.markets.index.to_numpy()[short], "demand_tpp": demand[short],
                         "served_tpp": served[short], "unserved_tpp": demand[short] - served[short],
                         "reason": pd.Series(reasons, dtype="str")}, columns=["market_id", "demand_tpp", "served_tpp", "unserved_tpp", "reason"])
