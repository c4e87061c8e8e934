"""The fast multi-period formulation: the plain multi-period LP (optimizer.model.periods),
reduced exactly the way :mod:`optimizer.model.fast` reduces a snapshot.

**Network.** Eligibility is the same in every period (the periods share sites, markets and
links), so the site classes, market groups and hub tree of the first period serve every period:
per period t the flows d[h,n,t], e[n,t], u[m,t] and the class-serving, hub and group rows are the
snapshot's, on that period's stock and demand. The reduction argument of optimizer.model.reduce
holds period by period.

**Pools across periods.** A site's room for new units in period t is the polytope
Q_s,t = Q(P_s,t, R_s,t) (power and racks left after the installed base; {0} when s is closed
in t or has no power or racks left). Sites of one class and per-unit cost whose room sequence
is *0 before a common start period t0 and one constant Q_s from t0 on*, and that count as the
same country in every period and lie in the same type cone, are merged into one pool with
room Σ_s Q_s from t0 on (0 before). This is exact:

* a site plan (x_s,t monotone in t, x_s,t in Q_s,t) sums to a pool plan (monotone, in Σ Q_s
  from t0 on, 0 before), with the same country totals, class compute and cost;
* a pool plan a_t (monotone, a_t = 0 before t0, a_t in Σ_s Q_s) splits back: split the last
  period's a_T into y_s in Q_s with Σ y_s = a_T (Minkowski additivity, optimizer.model.pools
  :func:`split_pools`), then fill each earlier period per chip northwest:
  x_s,t = clip(a_t - Σ_{s' before s} y_s', 0, y_s). It sums to a_t (a_t <= a_T), rises with a_t
  (so with t), and x_s,t <= y_s component-wise keeps it in the down-closed Q_s; before t0 it is 0.

Any site whose room sequence has another shape (shrinks, grows twice, closes, ...) gets a pool
of its own, with its own room in every period. Policy rows are written on each period's
country totals (:func:`optimizer.model.fast.add_policy_rows_on_totals`); the cost is the
telescoped stock cost of optimizer.model.periods.

**Implied room rows.** A pool's power (or racks) row in period t is implied by its row in a
later period t' whose room is no larger (stock never falls, and the coefficients are the same
non-negative per-chip figures). Freeing such rows made the LP 15-20 % faster at 1,000 sites over
12 quarters, but a 3,000-site x 12-quarter fleet's pools then failed to split among their sites
(infeasible at the solver's tolerance), so every row is kept (the attempt: commit 02ab7c1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.model.data import MTPP, MUSD
from optimizer.model.fast import (
    FastModel,
    add_class_serving_rows,
    add_country_total_rows,
    add_country_total_vars,
    add_flow_vars,
    add_group_balance_rows,
    add_hub_rows,
    add_policy_rows_on_totals,
    add_pool_inventory_rows,
    add_pool_placement_vars,
    add_pool_power_rows,
    add_pool_rack_rows,
    class_positions,
    class_tree,
    open_countries,
    pool_layout,
)
from optimizer.model.lp import LPBuilder
from optimizer.model.periods import TimelineData, add_stock_rows
from optimizer.model.pools import FeasibilitySolver, Pools, split_pools, type_cone
from optimizer.model.reduce import Reduction, reduce_network


@dataclass(frozen=True)
class FastTimelineModel:
    """The reduced multi-period LP; ``fast`` holds it with the shared network, tree and the
    last period's pools, ``pools`` each period's pools (same pools, that period's room)."""

    fast: FastModel
    pools: list[Pools]
    start: np.ndarray          # per pool, the first period with room (merged pools)
    merged: np.ndarray         # per pool, True when it may hold several sites


def site_rooms(td: TimelineData) -> tuple[np.ndarray, np.ndarray]:
    """T x S power (MW) and racks left for new units per period; 0 and 0 where the site is
    closed in t or has no power or no racks left."""
    power, racks = [], []
    for p in td.periods:
        d = p.d
        P = d.scenario.sites["power_mw"].to_numpy(float) - d.inst_power
        R = d.scenario.sites["racks"].to_numpy(float) - d.inst_racks
        usable = np.zeros(d.n_sites, bool)
        usable[d.open_sites] = True
        usable &= (P > 0) & (R > 0)
        power.append(np.where(usable, P, 0.0))
        racks.append(np.where(usable, R, 0.0))
    return np.array(power), np.array(racks)


TimelinePools = tuple[list[Pools], np.ndarray, np.ndarray]     # each period's pools, start, merged


def timeline_pools(td: TimelineData, site_class: np.ndarray, merge: bool = True, by_cost: bool = True
                   ) -> TimelinePools:
    """Pools of sites with room in some period (see the module docstring): each period's Pools
    (room summed per pool in that period), each pool's start period, and whether it is merged.
    ``by_cost=False``: sites whose cost-stage costs differ merge too, keyed only by what the value
    stage charges (the margin objective's cost; nothing under serve): exact for the value stage
    alone, the pools' costs are then their first site's (see optimizer.model.costsplit_periods)."""
    power, racks = site_rooms(td)
    T = len(td.periods)
    has_room = (power > 0).any(axis=0)
    sites = np.flatnonzero(has_room)
    start = np.argmax(power[:, sites] > 0, axis=0)
    P, R = power[-1, sites], racks[-1, sites]
    after = np.arange(T)[:, None] >= start[None, :]
    steady = np.all(np.where(after, (power[:, sites] == P) & (racks[:, sites] == R),
                             power[:, sites] == 0), axis=0)
    last = td.last
    charged = (last.unit_cost[sites] if by_cost
               else np.hstack([p.d.margin_cost[sites] for p in td.periods]))
    cost_id = pd.DataFrame(charged).groupby(list(range(charged.shape[1])), sort=False).ngroup().to_numpy()
    countries = pd.DataFrame(np.stack([p.d.site_country[sites] for p in td.periods], axis=1))
    country_id = countries.groupby(list(range(T)), sort=False).ngroup().to_numpy()   # the country in each period
    keys = pd.DataFrame({"cls": site_class[sites], "country": country_id, "cost": cost_id,
                         "cone": type_cone(last, P, R), "start": start,
                         "own": np.where(steady & merge, -1, sites)})
    pool = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    n = int(pool.max()) + 1 if len(pool) else 0
    pool_of_site = np.full(last.n_sites, -1, dtype=np.int64)
    pool_of_site[sites] = pool
    first = np.full(n, -1, dtype=np.int64)
    first[pool[::-1]] = sites[::-1]
    per_period = [Pools(pool_of_site, np.bincount(pool, power[t, sites], n), np.bincount(pool, racks[t, sites], n),
                        site_class[first], p.d.site_country[first], p.d.unit_cost[first], first)
                  for t, p in enumerate(td.periods)]
    pool_start = np.zeros(n, np.int64)
    pool_start[pool] = start
    merged = np.zeros(n, bool)
    merged[pool] = keys["own"].to_numpy() < 0
    return per_period, pool_start, merged


def timeline_network(td: TimelineData) -> Reduction:
    """Site classes and market groups of the first period's eligibility (shared by every period)."""
    return reduce_network(td.first.eligibility, len(td.first.scenario.markets))


def build_fast_timeline(td: TimelineData, merge_sites: bool = True, hub_tree: bool = True,
                        network: Reduction | None = None, pools: TimelinePools | None = None) -> FastTimelineModel:
    """Assemble the reduced multi-period LP: per period the snapshot's fast blocks (tagged
    ``@period``), then the stock rows x[·,p,t] >= x[·,p,t-1]. ``network`` (the
    :func:`timeline_network`) and ``pools`` (:func:`timeline_pools` on it, e.g. without cost for
    the value stage alone; they then replace ``merge_sites``), when already known."""
    first = td.first
    network = network if network is not None else timeline_network(td)
    pools, start, merged = pools if pools is not None else timeline_pools(td, network.site_class, merge_sites)
    positions = class_positions(first, network)
    tree, draw_group, draw_node = class_tree(positions, network, hub_tree)
    b = LPBuilder()
    for t, (p, pl) in enumerate(zip(td.periods, pools)):
        countries = sorted(set(open_countries(p.d)) | set(pl.country))
        xp, xc = pool_layout(p.d, pl)
        closed = (pl.power[xp] <= 0) | (pl.racks[xp] <= 0)
        add_pool_placement_vars(b, p.d, pl, p.tag, cost=td.stock_cost(t)[pl.first_site[xp], xc],
                                hi=np.where(closed, 0.0, np.inf), weight=p.weight)
        add_flow_vars(b, p.d, tree, draw_group, draw_node, p.tag, weight=p.weight)
        add_country_total_vars(b, countries, p.tag)
        add_pool_inventory_rows(b, p.d, pl, p.tag)
        add_pool_power_rows(b, p.d, pl, p.tag)
        add_pool_rack_rows(b, p.d, pl, p.tag)
        add_class_serving_rows(b, p.d, network, pl, tree, draw_node, p.tag)
        add_hub_rows(b, tree, draw_node, p.tag)
        add_group_balance_rows(b, p.d, network, draw_group, p.tag)
        add_country_total_rows(b, p.d, pl, countries, p.tag)
        add_policy_rows_on_totals(b, p.d, countries, p.tag)
        if t:
            add_stock_rows(b, td.periods[t - 1].tag, p.tag)
    lp = b.build(objective_scale=MTPP, cost_scale=MUSD, cost_offset=td.installed_cost_usd)
    return FastTimelineModel(FastModel(lp, network, pools[-1], tree, draw_group, draw_node), pools, start, merged)


def split_timeline_pools(td: TimelineData, fm: FastTimelineModel, x_pool: list[np.ndarray],
                         solve_feasibility: FeasibilitySolver, by_cost: bool = False) -> list[np.ndarray]:
    """Sites x chips new stock (model units) per period from pools x chips stock per period:
    the last period split by :func:`split_pools`, earlier periods of merged pools filled
    northwest under it (see the module docstring); a one-site pool passes through.

    ``by_cost`` (pools that merge sites of different costs; the start of the cost stage by site
    blocks): the last period's split is the cheapest at each site's cost of a unit held over the
    whole horizon, w[s,c] = Σ_t k[s,t,c] (k: :meth:`TimelineData.stock_cost`), and the northwest
    fill takes a pool's sites in order of their mean w, so the earlier stock goes to the cheaper
    sites. Any split is exact (the cost stage proves its own optimum); this one starts nearer it
    (3,000 per-site sites x 12 quarters: cost stage 38.8 -> 35.8 s, 93 -> 86 rounds)."""
    w = sum(td.stock_cost(t) for t in range(len(td.periods))) if by_cost else None
    last = split_pools(td.last, fm.pools[-1], np.maximum(x_pool[-1], 0.0), solve_feasibility, w)
    pool_of_site = fm.pools[-1].pool_of_site
    sites = np.flatnonzero(pool_of_site >= 0)
    pool = pool_of_site[sites]
    merged_sites = sites[fm.merged[pool]]
    rank = w[merged_sites].mean(axis=1) if by_cost else np.zeros(len(merged_sites))
    order = merged_sites[np.lexsort((rank, pool_of_site[merged_sites]))]
    ordered_pool = pool_of_site[order]
    y = last[order]                                            # sites (pool order) x chips
    before = np.cumsum(y, axis=0) - y
    group_start = np.searchsorted(ordered_pool, ordered_pool)   # first row of each site's pool
    before -= np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(y, axis=0)])[group_start]
    own = sites[~fm.merged[pool]]
    out = []
    for t, xp in enumerate(x_pool[:-1]):
        x_site = np.zeros_like(last)
        x_site[order] = np.clip(np.maximum(xp, 0.0)[ordered_pool] - before, 0.0, y)
        x_site[own] = np.maximum(xp[pool_of_site[own]], 0.0)
        out.append(x_site)
    return out + [last]

