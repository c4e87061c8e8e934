"""A solved model in planner units, and the expansion of a fast-model solution back to sites
and market-site pairs (pools split, hub-tree flows unfolded, class flows split)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.model.data import MTPP, UNIT, ModelData
from optimizer.model.fast import FastModel
from optimizer.model.lp import LinearProgram
from optimizer.model.pools import FeasibilitySolver, split_pools
from optimizer.model.reduce import split_flows, unfold_tree_flows
from optimizer.solvers.result import SolveResult


@dataclass
class Solution:
    """New units per (site, sku) and served TPP per pair (market and site positions)."""

    result: SolveResult
    new_units: pd.Series | None = None
    market_pos: np.ndarray | None = None
    site_pos: np.ndarray | None = None
    served: np.ndarray | None = None
    lp: LinearProgram | None = None
    counts: dict | None = None
    fast_model: FastModel | None = None


def site_chip_series(d: ModelData, units: np.ndarray) -> pd.Series:
    """A sites x chips array as a Series indexed by (site_id, sku), nonzero entries only."""
    s_idx, c_idx = np.nonzero(units)
    index = pd.MultiIndex.from_arrays([d.scenario.sites.index[s_idx], d.scenario.chips.index[c_idx]],
                                      names=["site_id", "sku"])
    return pd.Series(units[s_idx, c_idx], index=index, dtype=float)


def site_placement(d: ModelData, fm: FastModel, x: np.ndarray, solve_feasibility: FeasibilitySolver,
                   cost: np.ndarray | None = None) -> np.ndarray:
    """Sites x chips new units (model units) from a fast-model solution vector (with ``cost``,
    the pools' cheapest split: :func:`optimizer.model.pools.split_pools`)."""
    x_pool = x[fm.lp.var_blocks["x"].slice].reshape(fm.pools.n, d.n_chips)
    return split_pools(d, fm.pools, np.maximum(x_pool, 0.0), solve_feasibility, cost)


def expand_fast(sol: Solution, d: ModelData, fm: FastModel, x: np.ndarray,
                solve_feasibility: FeasibilitySolver, x_site: np.ndarray | None = None) -> Solution:
    """Fill ``sol`` with per-site units and per-pair service from a fast-model vector ``x``
    (``x_site``: its placement per site when already known, else its pools are split)."""
    if x_site is None:
        x_site = site_placement(d, fm, x, solve_feasibility)
    sol.new_units = site_chip_series(d, x_site * UNIT)
    sol.market_pos, sol.site_pos, sol.served = unfold_service(d, fm, x, x_site)
    return sol


def unfold_service(d: ModelData, fm: FastModel, x: np.ndarray, x_site: np.ndarray,
                   tag: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pair service (market and site positions, TPP) from the flows of a fast-model vector
    ``x`` (blocks ``d``, ``e``, ``u`` + ``tag``: one period of a multi-period model) and the
    new units per site ``x_site`` (model units)."""
    lp = fm.lp
    capacity = d.inst_tpp + x_site @ d.tpp
    up = np.zeros(fm.tree.n_nodes)
    up[lp.var_blocks["e" + tag].index.to_numpy()] = x[lp.var_blocks["e" + tag].slice]
    h, g, flow = unfold_tree_flows(fm.tree, fm.draw_group, fm.draw_node, x[lp.var_blocks["d" + tag].slice], up)
    m, site, amount = split_flows(fm.network, h, g, flow, x[lp.var_blocks["u" + tag].slice], capacity)
    return m, site, amount * MTPP
