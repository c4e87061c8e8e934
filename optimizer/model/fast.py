"""The fast formulation: the same LP as :mod:`optimizer.model.plain`, reduced exactly.

Variables (model units)::

    x[c,p] >= 0          new units of chip c in placement pool p (merged sites, optimizer.model.pools)
    d[h,n] >= 0          market group h draws from hub-tree node n (a site class or a hub)
    e[n] >= 0            flow from tree node n up to its parent hub (optimizer.model.reduce)
    0 <= u[m] <= D_m     compute served to market m, worth value_m
    N_k >= 0             new compute in country k
    N >= 0               new compute of the whole fleet

Policy limits are written on the totals: T_k = I_k + N_k and T = I + N, so each share
row has a few nonzeros instead of one per placement variable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.model.data import MTPP, MUSD, UNIT, ModelData
from optimizer.model.lp import LinearProgram, LPBuilder
from optimizer.model.pools import Pools, make_pools
from optimizer.model.reduce import (
    ClassTree,
    Reduction,
    best_hub_tree,
    flat_tree,
    reduce_network,
    tree_cover,
    unit_vectors,
)
from optimizer.policy.rules import AT_LEAST, SHARE


@dataclass(frozen=True)
class FastModel:
    """The reduced LP with the maps needed to expand its solution back to sites and pairs."""

    lp: LinearProgram
    network: Reduction
    pools: Pools
    tree: ClassTree
    draw_group: np.ndarray
    draw_node: np.ndarray


def build_fast(d: ModelData, merge_sites: bool = True, hub_tree: bool = True, by_cost: bool = True,
               network: Reduction | None = None) -> FastModel:
    """Assemble the reduced LP: the formulation's table of contents.

    ``merge_sites=False`` keeps one placement pool per site and ``hub_tree=False`` gives every
    group-class pair its own arc; both exist to test that each reduction leaves the optimum alone.
    ``by_cost=False`` pools sites whatever their cost (the LP's costs are then meaningless: for
    the value stage only, see :mod:`optimizer.model.costsplit`). ``network``: the site classes
    and market groups, when already computed (:func:`fleet_network`).
    """
    network = network if network is not None else fleet_network(d)
    pools = make_pools(d, network.site_class, merge=merge_sites, by_cost=by_cost)
    positions = class_positions(d, network)
    tree, draw_group, draw_node = class_tree(positions, network, hub_tree)
    countries = open_countries(d)
    b = LPBuilder()
    add_pool_placement_vars(b, d, pools)
    add_flow_vars(b, d, tree, draw_group, draw_node)
    add_country_total_vars(b, countries)
    add_pool_inventory_rows(b, d, pools)
    add_pool_power_rows(b, d, pools)
    add_pool_rack_rows(b, d, pools)
    add_class_serving_rows(b, d, network, pools, tree, draw_node)
    add_hub_rows(b, tree, draw_node)
    add_group_balance_rows(b, d, network, draw_group)
    add_country_total_rows(b, d, pools, countries)
    add_policy_rows_on_totals(b, d, countries)
    lp = b.build(objective_scale=MTPP, cost_scale=MUSD, cost_offset=d.installed_cost_usd)
    return FastModel(lp, network, pools, tree, draw_group, draw_node)


def fleet_network(d: ModelData) -> Reduction:
    """Site classes and market groups of the fleet (optimizer.model.reduce)."""
    return reduce_network(d.eligibility, len(d.scenario.markets))


def class_tree(positions: np.ndarray, network: Reduction, hub_tree: bool = True
               ) -> tuple[ClassTree, np.ndarray, np.ndarray]:
    """The tree the groups draw through and its draws: the hub tree with fewer draws
    (:func:`optimizer.model.reduce.best_hub_tree`), or without ``hub_tree`` every class its own
    root (groups draw straight from classes)."""
    if hub_tree:
        return best_hub_tree(positions, network)
    tree = flat_tree(len(positions))
    return (tree, *tree_cover(tree, network))


def class_positions(d: ModelData, red: Reduction) -> np.ndarray:
    """The sum of the unit vectors of each class's sites: its direction, weighted by its number of
    sites (the hub tree's fallback splits classes by these positions)."""
    sites = d.scenario.sites
    xyz = unit_vectors(sites["lat"].to_numpy(float), sites["lon"].to_numpy(float))
    serving = red.site_class >= 0
    return np.stack([np.bincount(red.site_class[serving], xyz[serving, k], red.n_classes)
                     for k in range(3)], axis=1)


def open_countries(d: ModelData) -> list[str]:
    return sorted(set(d.site_country[d.open_sites]))


# Every helper below writes one block. The multi-period fast model (optimizer.model.fast_periods)
# calls them once per period with ``tag`` suffixed to every block name (``"x" + tag``, ...).


def pool_layout(d: ModelData, pools: Pools) -> tuple[np.ndarray, np.ndarray]:
    """Pool and chip positions of each x column: pools outer, chips inner."""
    return np.repeat(np.arange(pools.n), d.n_chips), np.tile(np.arange(d.n_chips), pools.n)


def add_pool_placement_vars(b: LPBuilder, d: ModelData, pools: Pools, tag: str = "",
                            cost: np.ndarray | None = None, hi: np.ndarray | float = np.inf,
                            weight: float = 1.0) -> None:
    """x[c,p] >= 0, costing ``cost`` per model unit (default the pool's capex + a year of
    energy), at most ``hi``, worth -weight·margin_cost (zero unless the objective is margin; the
    same at every site of a pool, see make_pools; ``weight`` as for the plain placement vars)."""
    xp, xc = pool_layout(d, pools)
    index = pd.MultiIndex.from_arrays([xp, d.scenario.chips.index[xc]], names=["pool", "sku"])
    b.add_vars("x" + tag, index, obj=-weight * d.margin_cost[pools.first_site[xp], xc],
               cost=pools.unit_cost[xp, xc] if cost is None else cost, hi=hi)


def add_pool_inventory_rows(b: LPBuilder, d: ModelData, pools: Pools, tag: str = "") -> None:
    """Σ_p x[c,p] <= inventory_c   ∀c."""
    xp, xc = pool_layout(d, pools)
    inv = d.scenario.chips["inventory"].to_numpy(float) / UNIT
    b.add_rows("inventory" + tag, "inventory", d.scenario.chips.index, xc,
               b.var_blocks["x" + tag].start + np.arange(len(xp)), np.ones(len(xp)), hi=inv)


def add_pool_power_rows(b: LPBuilder, d: ModelData, pools: Pools, tag: str = "") -> None:
    """Σ_c p_c·x[c,p] <= Σ_{s in p} (power_mw_s - installed MW_s)   ∀ pool p."""
    _pool_rows(b, d, pools, "power", d.power, pools.power, tag)


def add_pool_rack_rows(b: LPBuilder, d: ModelData, pools: Pools, tag: str = "") -> None:
    """Σ_c r_c·x[c,p] <= Σ_{s in p} (racks_s - installed racks_s)   ∀ pool p."""
    _pool_rows(b, d, pools, "racks", d.racks, pools.racks, tag)


def _pool_rows(b: LPBuilder, d: ModelData, pools: Pools, name: str, coef: np.ndarray, rhs: np.ndarray,
               tag: str) -> None:
    xp, xc = pool_layout(d, pools)
    b.add_rows(name + tag, name, pd.RangeIndex(pools.n, name="pool"), xp,
               b.var_blocks["x" + tag].start + np.arange(len(xp)), coef[xc], hi=rhs)


def add_flow_vars(b: LPBuilder, d: ModelData, tree: ClassTree, draw_group: np.ndarray,
                  draw_node: np.ndarray, tag: str = "", weight: float = 1.0) -> None:
    """d[h,n] >= 0 on cover arcs; e[n] >= 0 for every non-root tree node;
    u[m] in [0, demand_m] with objective weight·value_m."""
    mk = d.scenario.markets
    b.add_vars("d" + tag, pd.MultiIndex.from_arrays([draw_group, draw_node], names=["group", "node"]))
    b.add_vars("e" + tag, pd.Index(np.flatnonzero(tree.parent >= 0), name="node"))
    b.add_vars("u" + tag, mk.index, hi=mk["demand_tpp"].to_numpy(float) / MTPP,
               obj=weight * mk["value"].to_numpy(float))


def _edge_col(b: LPBuilder, tree: ClassTree, tag: str = "") -> np.ndarray:
    """Column of e[n] for every node (-1 for the root)."""
    col = np.full(tree.n_nodes, -1, dtype=np.int64)
    col[tree.parent >= 0] = b.var_blocks["e" + tag].start + np.arange(int((tree.parent >= 0).sum()))
    return col


def add_hub_rows(b: LPBuilder, tree: ClassTree, draw_node: np.ndarray, tag: str = "") -> None:
    """e[T] + Σ_h d[h,T] - Σ_{c child of T} e[c] = 0   ∀ hub T (internal node)."""
    hubs = np.arange(tree.n_leaves, tree.n_nodes)
    if len(hubs) == 0:
        return
    e_col = _edge_col(b, tree, tag)
    row_of = np.full(tree.n_nodes, -1, dtype=np.int64)
    row_of[hubs] = np.arange(len(hubs))
    own = hubs[e_col[hubs] >= 0]
    kids = np.flatnonzero(tree.parent >= 0)
    on_hub = np.flatnonzero(draw_node >= tree.n_leaves)
    rows = np.concatenate([row_of[own], row_of[tree.parent[kids]], row_of[draw_node[on_hub]]])
    cols = np.concatenate([e_col[own], e_col[kids], b.var_blocks["d" + tag].start + on_hub])
    vals = np.concatenate([np.ones(len(own)), -np.ones(len(kids)), np.ones(len(on_hub))])
    b.add_rows("hub" + tag, "network", pd.RangeIndex(len(hubs), name="hub"), rows, cols, vals, lo=0.0, hi=0.0)


def add_country_total_vars(b: LPBuilder, countries: list[str], tag: str = "") -> None:
    """N_k >= 0 per country with placement columns (``countries``); N >= 0."""
    b.add_vars("N_k" + tag, pd.Index(countries, name="country"))
    b.add_vars("N" + tag, pd.Index(["fleet"]))


def add_class_serving_rows(b: LPBuilder, d: ModelData, red: Reduction, pools: Pools,
                           tree: ClassTree, draw_node: np.ndarray, tag: str = "") -> None:
    """e[g] + Σ_h d[h,g] - Σ_{p in g} Σ_c tpp_c·x[c,p] <= Σ_{s in g} installed TPP_s   ∀ class g
    (a class's outflow, up the tree and straight to groups, is at most its compute)."""
    xp, xc = pool_layout(d, pools)
    cls_of_x = pools.site_class[xp]
    serving_x = np.flatnonzero(cls_of_x >= 0)
    x0 = b.var_blocks["x" + tag].start
    e_col = _edge_col(b, tree, tag)
    leaves = np.flatnonzero(e_col[:tree.n_leaves] >= 0)
    on_leaf = np.flatnonzero(draw_node < tree.n_leaves)
    rows = np.concatenate([leaves, draw_node[on_leaf], cls_of_x[serving_x]])
    cols = np.concatenate([e_col[leaves], b.var_blocks["d" + tag].start + on_leaf, x0 + serving_x])
    vals = np.concatenate([np.ones(len(leaves)), np.ones(len(on_leaf)), -d.tpp[xc[serving_x]]])
    serving = red.site_class >= 0
    inst = np.bincount(red.site_class[serving], weights=d.inst_tpp[serving], minlength=red.n_classes)
    b.add_rows("class_serving" + tag, "serving", pd.RangeIndex(red.n_classes, name="class"), rows, cols, vals, hi=inst)


def add_group_balance_rows(b: LPBuilder, d: ModelData, red: Reduction, draw_group: np.ndarray,
                           tag: str = "") -> None:
    """Σ_{m in h} u[m] - Σ_n d[h,n] = 0   ∀ market group h."""
    n_m = len(d.scenario.markets)
    u0, d0 = b.var_blocks["u" + tag].start, b.var_blocks["d" + tag].start
    rows = np.concatenate([red.market_group, draw_group])
    cols = np.concatenate([u0 + np.arange(n_m), d0 + np.arange(len(draw_group))])
    vals = np.concatenate([np.ones(n_m), -np.ones(len(draw_group))])
    b.add_rows("group_balance" + tag, "demand", pd.RangeIndex(red.n_groups, name="group"), rows, cols, vals,
               lo=0.0, hi=0.0)


def add_country_total_rows(b: LPBuilder, d: ModelData, pools: Pools, countries: list[str], tag: str = "") -> None:
    """N_k - Σ_{p in k} Σ_c tpp_c·x[c,p] = 0  ∀k;   N - Σ_k N_k = 0."""
    xp, xc = pool_layout(d, pools)
    pos = pd.Index(countries).get_indexer(pools.country[xp])
    x0, nk0, n0 = (b.var_blocks[v + tag].start for v in ("x", "N_k", "N"))
    K = len(countries)
    rows = np.concatenate([np.arange(K), pos, [K] * (K + 1)])
    cols = np.concatenate([nk0 + np.arange(K), x0 + np.arange(len(xp)), [n0], nk0 + np.arange(K)])
    vals = np.concatenate([np.ones(K), -d.tpp[xc], [1.0], -np.ones(K)])
    b.add_rows("country_total" + tag, "accounting", pd.Index([*countries, "fleet"]), rows, cols, vals, lo=0.0, hi=0.0)


def add_policy_rows_on_totals(b: LPBuilder, d: ModelData, countries: list[str], tag: str = "") -> None:
    """One row per policy limit (see optimizer.policy.rules), T_G (sense) a·T + b written on the
    totals:  Σ_{k∈G} N_k - a·N  (>= or <=)  a·I - I_G + b  (a share has the N entry, an amount not)."""
    nk0, n0 = b.var_blocks["N_k" + tag].start, b.var_blocks["N" + tag].start
    where = {k: i for i, k in enumerate(countries)}
    for lim in d.limits:
        members = [k for k in countries if k in lim.members]
        cols = [nk0 + where[k] for k in members] + ([n0] if lim.unit == SHARE else [])
        vals = [1.0] * len(members) + ([-lim.share] if lim.unit == SHARE else [])
        installed = d.installed_in(np.isin(d.site_country, list(lim.members)))
        rhs = lim.share * d.installed_total - installed + lim.amount_tpp / MTPP
        lo, hi = (rhs, np.inf) if lim.sense == AT_LEAST else (-np.inf, rhs)
        b.add_rows(lim.row + tag, lim.family.value, pd.Index([lim.scope]), np.zeros(len(cols), int),
                   np.array(cols, dtype=np.int64), np.array(vals, dtype=float), lo, hi)
