"""Exact merging of sites into placement pools, and splitting a pool's units back to its sites.

A site's room for new units is the polytope Q(P, R) = {x >= 0 : Σ_c p_c x_c <= P, Σ_c r_c x_c <= R}
(P, R: power and racks left after the installed fleet). Its combinatorial type depends only on
where ρ = R/P lies among the breakpoints r_c/p_c, and on each such interval (a type cone) the map
(P, R) -> Q(P, R) is Minkowski-additive: Q(P1, R1) + Q(P2, R2) = Q(P1 + P2, R1 + R2).

So sites that also share their serving class, country and per-unit costs (capex + a year of
energy, and the margin objective's annualised cost) can be placed as one pool with summed P and R, exactly: every pool plan splits into site
plans (:func:`split_pools`). Sites with no power or no racks left hold no new units at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from optimizer.model.data import ModelData


@dataclass(frozen=True)
class Pools:
    """pool_of_site[s] (-1: no new units possible), and per pool its sites' sums and keys."""

    pool_of_site: np.ndarray
    power: np.ndarray           # MW left, summed over the pool
    racks: np.ndarray           # racks left, summed
    site_class: np.ndarray      # serving class of the pool (-1: serves nothing)
    country: np.ndarray
    unit_cost: np.ndarray       # pools x chips, MUSD per model unit
    first_site: np.ndarray      # a representative site

    @property
    def n(self) -> int:
        return len(self.power)


def type_cone(d: ModelData, power: np.ndarray, racks: np.ndarray) -> np.ndarray:
    """Index of the interval of ρ = R/P among the breakpoints r_c/p_c (compared without division)."""
    with np.errstate(divide="ignore"):
        ratios = np.unique(np.where(d.power > 0, d.racks / np.where(d.power > 0, d.power, 1), np.inf))
    ratios = ratios[np.isfinite(ratios)]
    return (racks[:, None] > ratios[None, :] * power[:, None]).sum(axis=1)


def a_chip_draws_no_power(d: ModelData) -> bool:
    """Whether some chip has power_kw 0 (allowed): it needs racks only."""
    return bool((d.scenario.chips["power_kw"].to_numpy(float) == 0).any())


def pools_miss_unpowered_room(d: ModelData) -> bool:
    """Whether a chip draws no power (power_kw 0, allowed) while an open site has racks left but no
    power: that site can take the chip, but merged pools hold only sites with power and racks left
    (and their pricing assumes every chip draws power), so the fast formulation would leave it out
    and call a lower value optimal. Callers solve such an LP on the plain formulation (a snapshot's
    whole-rack MIP has one pool per site, which holds such sites: :func:`make_pools`)."""
    s = d.scenario
    if not a_chip_draws_no_power(d):
        return False
    power = (s.sites["power_mw"].to_numpy(float) - d.inst_power)[d.open_sites]
    racks = (s.sites["racks"].to_numpy(float) - d.inst_racks)[d.open_sites]
    return bool(((power <= 0) & (racks > 0)).any())


def make_pools(d: ModelData, site_class: np.ndarray, merge: bool = True, by_cost: bool = True) -> Pools:
    """Group open sites with room left by (class, country, unit costs, type cone);
    ``merge=False``: one pool per site, and when a chip draws no power (power_kw 0) also the sites
    with racks but no power left (their power row then holds every chip that draws power at 0;
    merged pools and their pricing assume p > 0, see :func:`pools_miss_unpowered_room`);
    ``by_cost=False``: sites whose cost-stage unit costs
    differ merge too, keyed only by what the value stage charges (``margin_cost``: nothing under
    the serve objective) — exact for the value stage, and only there: the pool's cost-stage unit
    cost is then its first site's, meaningless (see optimizer.model.costsplit)."""
    s = d.scenario
    # power left at 0 when the installed fleet fills a site (it may land a rounding below, 0.1 x 1.1 kW
    # against 0.11 MW): the same sites count as powered, and a pool never gets a negative room
    power = np.maximum(s.sites["power_mw"].to_numpy(float) - d.inst_power, 0.0)
    racks = s.sites["racks"].to_numpy(float) - d.inst_racks
    has_room = racks[d.open_sites] > 0
    if merge or not a_chip_draws_no_power(d):     # else a chip drawing no power fits where only racks are left
        has_room &= power[d.open_sites] > 0
    sites = d.open_sites[has_room]
    # both objectives' per-unit costs, or the value stage's alone
    costs = np.hstack([d.unit_cost[sites], d.margin_cost[sites]]) if by_cost else d.margin_cost[sites]
    cost_id = pd.DataFrame(costs).groupby(list(range(costs.shape[1])), sort=False).ngroup().to_numpy()
    keys = pd.DataFrame({"cls": site_class[sites], "country": d.site_country[sites], "cost": cost_id,
                         "cone": type_cone(d, power[sites], racks[sites])})
    if not merge:
        keys["site"] = sites
    pool = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    pool_of_site = np.full(d.n_sites, -1, dtype=np.int64)
    pool_of_site[sites] = pool
    n = int(pool.max()) + 1 if len(pool) else 0
    first = np.full(n, -1, dtype=np.int64)
    first[pool[::-1]] = sites[::-1]
    return Pools(pool_of_site, np.bincount(pool, power[sites], n), np.bincount(pool, racks[sites], n),
                 site_class[first], d.site_country[first], d.unit_cost[first], first)


FeasibilitySolver = Callable[..., np.ndarray]


def split_pools(d: ModelData, pools: Pools, x_pool: np.ndarray, solve_feasibility: FeasibilitySolver,
                cost: np.ndarray | None = None) -> np.ndarray:
    """Site x chip new units (model units) from pool x chip units.

    A one-site pool passes through. For larger pools a feasibility LP finds site shares
    y[s,c] >= 0 with Σ_{s in pool} y[s,c] = x_pool[c], Σ_c p_c y[s,c] <= P_s, Σ_c r_c y[s,c] <= R_s;
    it is feasible by Minkowski additivity. All pools go into one block-diagonal LP, solved by
    ``solve_feasibility(rows, cols, vals, n_col, row_lo, row_hi, cost)`` (a backend's). With
    ``cost`` (sites x chips, per model unit) it is the cheapest split, min Σ cost[s,c]·y[s,c]
    (pools that merge sites of different costs: the start of a cost stage by site blocks);
    without, any feasible one.
    """
    x_site = np.zeros((d.n_sites, d.n_chips))
    members = np.flatnonzero(pools.pool_of_site >= 0)
    size = np.bincount(pools.pool_of_site[members], minlength=pools.n)
    single = members[size[pools.pool_of_site[members]] == 1]
    x_site[single] = x_pool[pools.pool_of_site[single]]
    multi = members[size[pools.pool_of_site[members]] > 1]
    if len(multi) == 0:
        return x_site
    s = d.scenario
    power_left = s.sites["power_mw"].to_numpy(float) - d.inst_power
    racks_left = s.sites["racks"].to_numpy(float) - d.inst_racks
    pool_m = pools.pool_of_site[multi]
    used = x_pool[pool_m] > 0                                  # only skus the pool uses
    site_idx, chip_idx = np.nonzero(used)
    col_site, col_chip = multi[site_idx], chip_idx
    n_col = len(col_site)
    if n_col == 0:
        return x_site
    # rows: per (pool, chip) equality, then per site power and racks
    pc_key = pool_m[site_idx] * d.n_chips + chip_idx
    eq_keys, eq_row = np.unique(pc_key, return_inverse=True)
    site_row = np.searchsorted(multi, col_site)
    rows = np.concatenate([eq_row, len(eq_keys) + site_row, len(eq_keys) + len(multi) + site_row])
    cols = np.tile(np.arange(n_col), 3)
    vals = np.concatenate([np.ones(n_col), d.power[col_chip], d.racks[col_chip]])
    target = x_pool.ravel()[eq_keys]
    lo = np.concatenate([target, np.full(2 * len(multi), -np.inf)])
    hi = np.concatenate([target, power_left[multi], racks_left[multi]])
    y = solve_feasibility(rows, cols, vals, n_col, lo, hi, None if cost is None else cost[col_site, col_chip])
    np.add.at(x_site, (col_site, col_chip), y)
    return x_site
