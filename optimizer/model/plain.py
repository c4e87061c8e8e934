"""The plain formulation: one service variable per eligible pair, share rows on every x.

Variables (model units, see :mod:`optimizer.model.data`)::

    x[c,s] >= 0   new units of chip c at open site s        (thousands of units)
    f[m,s] >= 0   compute of site s serving market m        (MTPP), eligible pairs only

Rows, one function each (the docstrings hold the maths); the objective is
``max Σ value_m·f[m,s] - Σ margin_cost[c,s]·x[c,s]`` (the second sum only under the margin
objective, see optimizer.model.data.Objective), the secondary objective ``min Σ cost[c,s]·x[c,s]``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.data import MTPP, MUSD, UNIT, ModelData
from optimizer.model.lp import LinearProgram, LPBuilder
from optimizer.policy.rules import AT_LEAST


def build_plain(d: ModelData) -> LinearProgram:
    """Assemble the plain LP: the formulation's table of contents."""
    b = LPBuilder()
    add_placement_vars(b, d)
    add_service_vars(b, d)
    add_inventory_rows(b, d)
    add_site_power_rows(b, d)
    add_site_rack_rows(b, d)
    add_serving_rows(b, d)
    add_demand_rows(b, d)
    add_policy_rows(b, d)
    return b.build(objective_scale=MTPP, cost_scale=MUSD, cost_offset=d.installed_cost_usd)


def placement_layout(d: ModelData, sites: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Site and chip positions of each x column: sites outer (``sites``, default the open
    sites), chips inner."""
    sites = d.open_sites if sites is None else sites
    C = d.n_chips
    return np.repeat(sites, C), np.tile(np.arange(C), len(sites))


# Every helper below writes one block. A multi-period model (optimizer.model.periods) calls the
# same helpers once per period: ``tag`` suffixes the period to every block name (the period's x
# is block ``"x" + tag``, its rows ``"power" + tag`` ...), ``sites`` are the sites with x
# columns (default: the period's open sites).


def add_placement_vars(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "",
                       cost: np.ndarray | None = None, hi: np.ndarray | float = np.inf,
                       weight: float = 1.0) -> None:
    """x[c,s] >= 0 for every chip at every site outside banned Tier-3 countries, worth
    -weight·margin_cost[c,s] (zero unless the objective is margin; ``weight``: a period's
    years·discount, the annuity charged for each year in stock), costing ``cost`` per model unit
    (default: capex + a year of energy), at most ``hi``."""
    xs, xc = placement_layout(d, sites)
    s = d.scenario
    index = pd.MultiIndex.from_arrays([s.sites.index[xs], s.chips.index[xc]], names=["site_id", "sku"])
    b.add_vars("x" + tag, index, obj=-weight * d.margin_cost[xs, xc], cost=d.unit_cost[xs, xc] if cost is None else cost,
               hi=hi)


def add_service_vars(b: LPBuilder, d: ModelData, tag: str = "", weight: float = 1.0,
                     hi: np.ndarray | float = np.inf) -> None:
    """f[m,s] >= 0 on eligible pairs, worth weight·value_m per TPP served, at most ``hi``."""
    p = d.pairs
    index = pd.MultiIndex.from_arrays([p["market_id"], p["site_id"]], names=["market_id", "site_id"])
    value = d.scenario.markets["value"].to_numpy(float)[p["m"].to_numpy()]
    b.add_vars("f" + tag, index, obj=weight * value, hi=hi)


def add_inventory_rows(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "") -> None:
    """Σ_s x[c,s] <= inventory_c   ∀c."""
    xs, xc = placement_layout(d, sites)
    inv = d.scenario.chips["inventory"].to_numpy(float) / UNIT
    cols = b.var_blocks["x" + tag].start + np.arange(len(xs))
    b.add_rows("inventory" + tag, "inventory", d.scenario.chips.index, xc, cols, np.ones(len(xs)), hi=inv)


def _site_rows(b: LPBuilder, d: ModelData, name: str, coef: np.ndarray, rhs: np.ndarray,
               sites: np.ndarray | None, tag: str) -> None:
    """Σ_c coef_c·x[c,s] <= rhs_s for the sites with x columns."""
    sites = d.open_sites if sites is None else sites
    xs, xc = placement_layout(d, sites)
    local = np.repeat(np.arange(len(sites)), d.n_chips)
    cols = b.var_blocks["x" + tag].start + np.arange(len(xs))
    index = d.scenario.sites.index[sites]
    b.add_rows(name + tag, name, index, local, cols, coef[xc], hi=rhs[sites])


def add_site_power_rows(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "") -> None:
    """Σ_c power_kw_c·(installed + x)[c,s] <= 1000·power_mw_s   ∀s  (in MW)."""
    _site_rows(b, d, "power", d.power, d.scenario.sites["power_mw"].to_numpy(float) - d.inst_power, sites, tag)


def add_site_rack_rows(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "") -> None:
    """Σ_c (installed + x)[c,s] / units_per_rack_c <= racks_s   ∀s."""
    _site_rows(b, d, "racks", d.racks, d.scenario.sites["racks"].to_numpy(float) - d.inst_racks, sites, tag)


def add_serving_rows(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "") -> None:
    """Σ_m f[m,s] - Σ_c tpp_c·x[c,s] <= Σ_c tpp_c·installed[c,s]   ∀s  (MTPP)."""
    xs, xc = placement_layout(d, sites)
    ps = d.pairs["s"].to_numpy()
    f0, x0 = b.var_blocks["f" + tag].start, b.var_blocks["x" + tag].start
    rows = np.concatenate([ps, xs])
    cols = np.concatenate([f0 + np.arange(len(ps)), x0 + np.arange(len(xs))])
    vals = np.concatenate([np.ones(len(ps)), -d.tpp[xc]])
    b.add_rows("serving" + tag, "serving", d.scenario.sites.index, rows, cols, vals, hi=d.inst_tpp)


def add_demand_rows(b: LPBuilder, d: ModelData, tag: str = "") -> None:
    """Σ_s f[m,s] <= demand_tpp_m   ∀m  (MTPP)."""
    pm = d.pairs["m"].to_numpy()
    cols = b.var_blocks["f" + tag].start + np.arange(len(pm))
    demand = d.scenario.markets["demand_tpp"].to_numpy(float) / MTPP
    b.add_rows("demand" + tag, "demand", d.scenario.markets.index, pm, cols, np.ones(len(pm)), hi=demand)


def add_policy_rows(b: LPBuilder, d: ModelData, sites: np.ndarray | None = None, tag: str = "") -> None:
    """One row per policy limit over every x (see optimizer.policy.rules), T_G (sense) a·T + b:
    Σ_{s∈G} t·x - a·Σ_s t·x  (>= or <=)  a·I - I_G + b."""
    xs, xc = placement_layout(d, sites)
    cols = b.var_blocks["x" + tag].start + np.arange(len(xs))
    for lim in d.limits:
        in_group = np.isin(d.site_country, list(lim.members))
        coef = d.tpp[xc] * (in_group[xs].astype(float) - lim.share)
        rhs = lim.share * d.installed_total - d.installed_in(in_group) + lim.amount_tpp / MTPP
        keep = coef != 0
        lo, hi = (rhs, np.inf) if lim.sense == AT_LEAST else (-np.inf, rhs)
        b.add_rows(lim.row + tag, lim.family.value, pd.Index([lim.scope]), np.zeros(keep.sum(), int), cols[keep],
                   coef[keep], lo=lo, hi=hi)
