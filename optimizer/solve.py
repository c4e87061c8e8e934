"""The library entry point: scenario in, plan out, through one of the solver paths.

>>> from optimizer import load_scenario, solve            # doctest: +SKIP
>>> plan = solve(load_scenario("datasets/sample"))         # doctest: +SKIP
>>> plan.summary["served_pct"], plan.placement.head()      # doctest: +SKIP

Paths: ``fast`` (default; reduced exact formulation on HiGHS), ``plain`` (the plain formulation
on HiGHS), ``pulp`` (PuLP model on CBC), ``ortools-glop`` and ``ortools-pdlp`` (OR-Tools on the
plain matrices). All give the same optimum; the reference paths exist to compare against.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from .backends import highs
from .diagnose import diagnose
from .errors import InfeasibleError, SolverError
from .explain import shadow_prices, unserved_demand
from .fastmodel import FastModel, build_fast
from .lp import LinearProgram
from .model import build_plain
from .modeldata import MTPP, UNIT, ModelData
from .plan import Plan, placement_table, service_table
from .pools import split_pools
from .reduce import split_flows, unfold_tree_flows
from .result import SolveResult, Status
from .scenario import Scenario
from .summary import build_summary


class SolverPath(str, Enum):
    """How the model is formulated and which solver takes it."""

    FAST = "fast"
    PLAIN = "plain"
    PULP = "pulp"
    ORTOOLS_GLOP = "ortools-glop"
    ORTOOLS_PDLP = "ortools-pdlp"


@dataclass
class Solution:
    """A solved model in planner units: new units per (site, sku) and served TPP per pair."""

    result: SolveResult
    new_units: pd.Series | None = None
    market_pos: np.ndarray | None = None
    site_pos: np.ndarray | None = None
    served: np.ndarray | None = None
    lp: LinearProgram | None = None
    counts: dict | None = None
    fast_model: FastModel | None = None


def solve(s: Scenario, path: SolverPath | str = SolverPath.FAST, time_limit: float | None = None,
          highs_options: dict | None = None) -> Plan:
    """Maximize value served, then minimize cost; raise InfeasibleError or SolverError."""
    path = SolverPath(path)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    d = ModelData.from_scenario(s)
    runner = {SolverPath.FAST: _fast, SolverPath.PLAIN: _plain, SolverPath.PULP: _pulp,
              SolverPath.ORTOOLS_GLOP: _ortools, SolverPath.ORTOOLS_PDLP: _ortools}[path]
    sol = runner(d, path, time_limit, highs_options, timings, t0)
    _raise_for_status(sol, d)
    t1 = time.perf_counter()
    placement = placement_table(s, sol.new_units)
    service = service_table(s, sol.market_pos, sol.site_pos, sol.served)
    summary = build_summary(s, placement, service, sol.result, path.value, sol.counts or {})
    plan = Plan(placement, service, summary, s)
    if sol.fast_model is not None:
        explain(plan, d, sol)
    timings["extract"] = time.perf_counter() - t1
    summary["timings"] = timings
    return plan


EXPLAIN_ROWS = 25


def explain(plan: Plan, d: ModelData, sol: Solution) -> None:
    """Attach shadow prices and unserved demand to the plan and its summary (fast path)."""
    plan.prices = shadow_prices(d, sol.fast_model, sol.result)
    plan.unserved = unserved_demand(d, plan, plan.prices)
    policy = plan.prices.loc[plan.prices["family"].isin(["home_share", "tier1_share", "tier2_share", "tier2_cap"])]
    physical = plan.prices.loc[~plan.prices.index.isin(policy.index)].head(EXPLAIN_ROWS)
    plan.summary["explain"] = {
        "sign_convention": "value_per_unit: objective gained per unit of headroom on the limit",
        "policy_prices": policy.to_dict("records"),
        "physical_prices_top": physical.to_dict("records"),
        "unserved_tpp_by_reason": plan.unserved.groupby(plan.unserved["reason"].str.split(":").str[0])
        ["unserved_tpp"].sum().to_dict(),
        "unserved_markets": plan.unserved.sort_values("unserved_tpp", ascending=False)
        .head(EXPLAIN_ROWS).to_dict("records"),
    }


def _counts(lp: LinearProgram, **extra) -> dict:
    return {"variables": lp.num_col, "rows": lp.num_row, "nonzeros": int(lp.A.nnz), **extra}


IPM_MIN_COLUMNS = 20_000
COST_STAGE_OPTIONS = {"solver": "simplex", "simplex_strategy": 4}


def fast_highs_options(lp: LinearProgram) -> dict:
    """HiGHS method for the value stage: dual simplex on small models, interior point (with
    crossover, so the cost stage starts from a basis) from IPM_MIN_COLUMNS columns. The cost
    stage only changes the objective and adds one row the basis satisfies, so primal simplex
    continues from there (COST_STAGE_OPTIONS). Measured in benchmarks/RESULTS.md."""
    return {"solver": "ipm"} if lp.num_col >= IPM_MIN_COLUMNS else {}


def _fast(d, path, time_limit, options, timings, t0) -> Solution:
    fm = build_fast(d)
    lp, red = fm.lp, fm.network
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = highs.solve_lp(lp, time_limit=time_limit, options={**fast_highs_options(lp), **(options or {})},
                            cost_stage_options=COST_STAGE_OPTIONS)
    timings["solve"] = time.perf_counter() - t1
    counts = _counts(lp, site_classes=red.n_classes, market_groups=red.n_groups,
                     group_class_pairs=len(red.pair_group), hub_draws=len(fm.draw_group),
                     placement_pools=fm.pools.n)
    sol = Solution(result, lp=lp, counts=counts, fast_model=fm)
    if result.status.has_solution:
        x = result.x
        x_pool = x[lp.var_blocks["x"].slice].reshape(fm.pools.n, d.n_chips)
        x_site = split_pools(d, fm.pools, np.maximum(x_pool, 0.0), highs.solve_feasibility)
        capacity = d.inst_tpp + x_site @ d.tpp
        up = np.zeros(fm.tree.n_nodes)
        up[lp.var_blocks["e"].index.to_numpy()] = x[lp.var_blocks["e"].slice]
        h, g, flow = unfold_tree_flows(fm.tree, fm.draw_group, fm.draw_node, x[lp.var_blocks["d"].slice], up)
        m, site, amount = split_flows(red, h, g, flow, x[lp.var_blocks["u"].slice], capacity)
        sol.new_units = site_chip_series(d, x_site * UNIT)
        sol.market_pos, sol.site_pos, sol.served = m, site, amount * MTPP
    return sol


def site_chip_series(d: ModelData, units: np.ndarray) -> pd.Series:
    """A sites x chips array as a Series indexed by (site_id, sku), nonzero entries only."""
    s_idx, c_idx = np.nonzero(units)
    index = pd.MultiIndex.from_arrays([d.scenario.sites.index[s_idx], d.scenario.chips.index[c_idx]],
                                      names=["site_id", "sku"])
    return pd.Series(units[s_idx, c_idx], index=index, dtype=float)


def _plain_solution(sol: Solution, d: ModelData) -> Solution:
    lp, x = sol.lp, sol.result.x
    sol.new_units = lp.values(x, "x") * UNIT
    sol.market_pos, sol.site_pos = d.pairs["m"].to_numpy(), d.pairs["s"].to_numpy()
    sol.served = x[lp.var_blocks["f"].slice] * MTPP
    return sol


def _plain(d, path, time_limit, options, timings, t0) -> Solution:
    lp = build_plain(d)
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = highs.solve_lp(lp, time_limit=time_limit, options=options)
    timings["solve"] = time.perf_counter() - t1
    sol = Solution(result, lp=lp, counts=_counts(lp, pairs=len(d.pairs)))
    return _plain_solution(sol, d) if result.status.has_solution else sol


def _ortools(d, path, time_limit, options, timings, t0) -> Solution:
    lp = build_plain(d)
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    from .backends import ortools_lp   # imported on demand: heavy, and only for this path
    result = ortools_lp.solve_lp(lp, solver=path.value.split("-")[1], time_limit=time_limit)
    timings["solve"] = time.perf_counter() - t1
    sol = Solution(result, lp=lp, counts=_counts(lp, pairs=len(d.pairs)))
    return _plain_solution(sol, d) if result.status.has_solution else sol


def _pulp(d, path, time_limit, options, timings, t0) -> Solution:
    timings["build"] = 0.0
    t1 = time.perf_counter()
    from .backends.pulp_cbc import solve_pulp   # imported on demand
    result, new_units, served = solve_pulp(d, time_limit=time_limit)
    timings["solve"] = time.perf_counter() - t1     # PuLP builds and solves in one call
    sol = Solution(result, counts={"pairs": len(d.pairs)})
    if result.status.has_solution:
        sol.new_units = new_units
        sol.market_pos = d.scenario.markets.index.get_indexer(served.index.get_level_values("market_id"))
        sol.site_pos = d.scenario.sites.index.get_indexer(served.index.get_level_values("site_id"))
        sol.served = served.to_numpy()
    return sol


def _raise_for_status(sol: Solution, d: ModelData) -> None:
    result = sol.result
    if result.status == Status.INFEASIBLE:
        lp = sol.lp if sol.lp is not None else build_fast(d).lp
        message, families = diagnose(d, lp)
        raise InfeasibleError(f"infeasible: {message}", families)
    if not result.status.has_solution:
        raise SolverError(f"{result.solver}: no plan ({result.status.value}"
                          f"{': ' + result.message if result.message else ''})")
