"""The multi-period entry point: a timeline in, one plan over all its periods out.

>>> plan = solve_timeline(load_timeline("datasets/sample-quarterly"))   # doctest: +SKIP
>>> plan.summary["periods"][0]["served_pct"], plan.placement.head()      # doctest: +SKIP

The plan is one optimisation over every period (perfect foresight; the model is in
:mod:`optimizer.model.periods`, its exact reduction in :mod:`optimizer.model.fast_periods`).
Paths: ``fast`` (default), ``plain`` (HiGHS), ``ortools-glop`` (the plain multi-period LP on
OR-Tools' simplex, through the same solver contract) and ``pulp`` (the algebraic model on CBC);
``ortools-pdlp`` is refused (:data:`PDLP_REFUSED`). Soft limits (priced violations) on every
path but pulp. ``frozen``: the stock of an earlier plan, fixed for
the periods it names (re-planning, ``--freeze-through``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.analysis.compliance import compare_timeline_to_baseline
from optimizer.analysis.diagnose import diagnose_rows
from optimizer.errors import InfeasibleError, InputError, SolverError
from optimizer.inputs.timeline import Timeline, load_timeline
from optimizer.model.additions import StockAdditions, stock_additions
from optimizer.model.costsplit_periods import TimelineCostStage, stock_chains, timeline_site_blocks
from optimizer.model.data import MTPP, UNIT, Objective
from optimizer.model.elastic import policy_rows, with_elastic_rows
from optimizer.model.fast_periods import (
    FastTimelineModel,
    TimelinePools,
    build_fast_timeline,
    split_timeline_pools,
    timeline_network,
    timeline_pools,
)
from optimizer.model.lp import LinearProgram
from optimizer.model.periods import TimelineData, build_plain_timeline
from optimizer.model.pools import pools_miss_unpowered_room
from optimizer.model.reduce import Reduction
from optimizer.planner.integer import IntegerMethod, IntegerOptions, MipSolver, auto_round_notes
from optimizer.planner.integer_periods import solve_timeline_integer
from optimizer.planner.solve import (
    BY_BLOCKS_POOL_RATIO,
    COST_STAGE_OPTIONS,
    PLAIN_BACKENDS,
    UNPOWERED_ROOM_NOTE,
    SolverPath,
    baseline_block,
    baseline_policy,
    block_cost_stage,
    build_decision_notes,
    check_objective,
    check_run_options,
    fast_highs_options,
    integer_choice,
    soft_prices,
)
from optimizer.policy.policy import Policy
from optimizer.policy.rules import SHARE, SHARE_FAMILIES, Family
from optimizer.progress import phase
from optimizer.results.periods import H100E_TPP, PeriodSolution, TimelinePlan, build_timeline_summary, timeline_figures
from optimizer.results.plan import FILE_PRECISION, SIGNIFICANT_DIGITS
from optimizer.results.solution import site_chip_series, unfold_service
from optimizer.solvers import highs
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.highs import HIGHS
from optimizer.solvers.registry import backend
from optimizer.solvers.result import SolveResult, Status

HIGHS_PATHS = (SolverPath.FAST, SolverPath.PLAIN)
# PDLP is first order: at its tolerances (1e-9, and 1e-10 passed where 1e-9 failed, with no bound
# that holds for every timeline) a multi-period plan overshot a Tier-2 share by 2e-7 and a site's
# serving capacity by 5e-6 relative, beyond fleetopt check's tolerances; a plan check would refuse
# is never written
PDLP_REFUSED = ("--path ortools-pdlp: refused on a multi-period scenario: PDLP (a first-order method) ends within "
                "its tolerance, which on the multi-period LP left plans a little over their limits (a Tier-2 share "
                "by 2e-7), beyond fleetopt check's; use --path ortools-glop (OR-Tools simplex), plain or fast")
NOT_YET = "not supported in multi-period mode yet"


@dataclass(frozen=True)
class TimelineSolution:
    """A solved multi-period model: the result, the LP (None for PuLP), each period's stock,
    service and prices, the model's size, and notes on how it was built."""

    result: SolveResult
    lp: LinearProgram | None
    periods: list[PeriodSolution] | None
    counts: Mapping[str, int]
    notes: tuple[str, ...] = ()      # how the model was built from its inputs (for the summary)


def solve_timeline(tl: Timeline, path: SolverPath | str = SolverPath.FAST, time_limit: float | None = None,
                   soft: dict[str, float] | None = None,
                   frozen: Mapping[str, pd.Series] | None = None,
                   highs_options: Mapping[str, Any] | None = None,
                   objective: Objective | str = Objective.SERVE, integer: bool = False,
                   method: IntegerMethod | str = IntegerMethod.AUTO,
                   mip_solver: MipSolver | str = MipSolver.HIGHS, gap: float | None = None,
                   baseline: Policy | str | Path | None = None) -> TimelinePlan:
    """Maximize the value served over the horizon (or the margin), then minimize its discounted
    cost; raise InfeasibleError (naming the period and limit) or SolverError.

    ``objective``: ``serve``, or ``margin`` (revenue less the annuity and energy of the stock,
    each period weighted by years·discount; dollar values only, see
    :func:`optimizer.planner.solve.check_objective`).

    ``soft``: policy limits priced instead of hard (price per TPP of violation per family, as
    :func:`optimizer.planner.solve.soft_prices`); every path but pulp.
    ``frozen``: period id -> new stock per (site_id, sku) in units (beyond the installed base),
    fixed in those periods.
    ``highs_options``: HiGHS options by HiGHS's names (``--threads``), on the HiGHS paths (fast
    and plain) only; both stages run with them.
    ``integer``: whole racks added each period, with sites.csv's build decisions
    (:mod:`optimizer.planner.integer_periods`); ``method``, ``mip_solver`` and ``gap`` as for
    :func:`optimizer.planner.solve.solve`; the serve objective only.
    ``baseline``: a policy (a Policy, preset name or TOML path; e.g. ``"none"``) to solve the
    timeline's folder under as well, in every period, the same way (every argument above); the
    summary's ``baseline`` block is the cost of compliance per period and over the horizon
    (:func:`optimizer.analysis.compliance.compare_timeline_to_baseline`)."""
    how = {k: v for k, v in locals().items() if k not in ("tl", "baseline")}     # the baseline is solved the same way
    path, time_limit = check_run_options(path, time_limit, gap, integer)
    objective = check_objective(tl.first, objective)
    choice = integer_choice(method, mip_solver) if integer else None
    check_integer_options(integer, path, soft is not None, bool(frozen), bool(highs_options),
                          objective == Objective.MARGIN, mip_solver)
    prices = soft_prices(soft, tl.first) if soft is not None else None
    if path == SolverPath.PULP and (prices is not None or frozen):
        raise InputError(f"--path pulp with {'--soft' if prices is not None else '--freeze-through'}: "
                         f"{NOT_YET}; use --path fast or plain")
    if highs_options and path not in HIGHS_PATHS:
        raise InputError("highs_options work with the fast and plain paths (HiGHS) only")
    if path == SolverPath.ORTOOLS_PDLP:
        raise InputError(PDLP_REFUSED)
    native = MappingProxyType(dict(highs_options or {}))
    scenario = tl.first if tl.first.path is not None or tl.path is None else replace(tl.first, path=tl.path)
    policy = baseline_policy(baseline, scenario) if baseline is not None else None    # before any work
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    td = TimelineData.from_timeline(tl, objective)
    _check_frozen(td, frozen or {})
    unpowered = choice is None and any(pools_miss_unpowered_room(p.d) for p in td.periods)
    info = None
    if choice is not None:
        sol, info = _integer(td, path, IntegerOptions(*choice, time_limit, gap), timings, t0)
    elif path == SolverPath.PULP:
        sol = _pulp(td, time_limit, timings, objective)
    elif path == SolverPath.FAST and not frozen and not unpowered:
        sol = _fast(td, time_limit, prices, native, timings, t0)
    else:       # re-planning fixes stock per site: the plain formulation (said in a note)
        sol = _plain(td, path, time_limit, prices, frozen or {}, native, timings, t0)
    _raise_for_status(sol, td, list(frozen)[-1] if frozen else None)
    t1 = time.perf_counter()
    placement, service, figures = timeline_figures(tl, sol.periods)
    notes = list(tl.notes) + sol.result.notes      # tl.notes holds every period's scenario notes
    if path == SolverPath.FAST and frozen:
        notes.append("re-planning with frozen stock runs on the plain formulation (the stock is fixed site by "
                     "site, which the fast path's site pools do not keep apart); the plan is the same optimum")
    elif path == SolverPath.FAST and unpowered:
        notes.append(UNPOWERED_ROOM_NOTE)
    notes += sol.notes
    if not integer:
        notes += build_decision_notes(tl.first)
    soft_block = soft_summary(sol, td, prices, figures) if prices is not None else None
    timings["extract"] = time.perf_counter() - t1
    tables = TimelinePlan(placement, service, figures, scenario, timeline=tl)
    summary = build_timeline_summary(
        tl, sol.result, figures, path=f"integer-{info['method']}" if info else path.value,
        mode="integer" if info else "lp-soft" if prices is not None else "lp",
        model=sol.counts, notes=notes + (info.pop("notes", []) if info else []), timings=timings, soft=soft_block,
        frozen={"through": list(frozen)[-1], "periods": list(frozen)} if frozen else None,
        objective=objective.value, integer=info,
        baseline=_timeline_baseline(tables, policy, how) if policy is not None else None)
    return replace(tables, summary=summary)


def _timeline_baseline(tables: TimelinePlan, policy: Policy, how: Mapping[str, Any]) -> dict:
    """The cost of compliance: the timeline's folder read again with ``policy`` in every period,
    solved as this plan was (``how``: solve_timeline's arguments), compared period by period."""
    return baseline_block(policy, lambda: solve_timeline(load_timeline(tables.timeline.path, policy), **how),
                          lambda base: compare_timeline_to_baseline(tables, base))


def check_integer_options(integer: bool, path: SolverPath | str, soft: bool, frozen: bool,
                          threads: bool = False, margin: bool = False, mip_solver: str | None = None) -> None:
    """Whole racks run on the multi-period MIP: refuse (InputError, every problem at once) what it
    does not take: a --path other than fast or plain (the MIP backend is --solver), --soft,
    --freeze-through, --threads, --objective margin. (--solver cbc was refused here: its plans
    served a few TPP from a site without stock, check refused them; the cause was CBC's 8-digit
    solution, which :func:`optimizer.planner.integer.with_exact_flows` now re-solves.)"""
    if not integer:
        return
    problems = []
    if path not in HIGHS_PATHS:
        problems.append(f"--integer with --path {SolverPath(path).value}: the whole-rack MIP is built on the "
                        "multi-period formulation; choose its backend with --solver highs|ortools|cbc")
    if threads:
        problems.append("--threads with --integer: the MIP backends take no thread count here; leave it out")
    if margin:
        problems.append(f"--integer with --objective margin: {NOT_YET}; use --objective serve with --integer, "
                        "or margin on an LP plan")
    if soft:
        problems.append("--integer with --soft: soft limits work on LP plans only (as for a snapshot)")
    if frozen:
        problems.append(f"--integer with --freeze-through: {NOT_YET}; re-plan as an LP, or solve whole racks "
                        "over every period")
    if problems:
        raise InputError(problems)


# Stock rows chain the periods, so the multi-period MIP is much harder than a snapshot's of as
# many columns: datasets/sample-quarterly (17,496 integer columns) found no plan in 300 s exact,
# while round gave 0.0033 % in 189 s (2 shared cores, see README "Integer plans").
AUTO_EXACT_MAX_TIMELINE_COLUMNS = 2_000


def _integer(td: TimelineData, path: SolverPath, options: IntegerOptions, timings: dict,
             t0: float) -> tuple[TimelineSolution, dict]:
    """Whole racks each period (optimizer.planner.integer_periods) on the fast formulation
    without site merging (``--path fast``) or the plain one; ``auto`` picks exact up to
    AUTO_EXACT_MAX_TIMELINE_COLUMNS integer columns (sites x skus x periods), else round, whose
    LP relaxation is the fast multi-period path (both on the plain formulation when a chip drawing
    no power meets a site with racks but no power, which the fast layout leaves out)."""
    auto = options.method == IntegerMethod.AUTO
    if auto:
        columns = len(td.sites) * td.first.n_chips * len(td.periods)
        options = replace(options, method=IntegerMethod.EXACT if columns <= AUTO_EXACT_MAX_TIMELINE_COLUMNS
                          else IntegerMethod.ROUND)

    # the fast layout's places leave out a site with racks but no power, where a chip drawing no
    # power fits: then the MIP and its relaxation are the plain formulation's
    unpowered = any(pools_miss_unpowered_room(p.d) for p in td.periods)

    def relax():
        lp_sol = (_plain(td, SolverPath.PLAIN, None, None, {}, MappingProxyType({}), {}, time.perf_counter())
                  if unpowered else _fast(td, None, None, MappingProxyType({}), {}, time.perf_counter()))
        return lp_sol.result, [p.stock for p in lp_sol.periods] if lp_sol.periods else None

    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result, mip, info = solve_timeline_integer(td, options, relax, fast=path == SolverPath.FAST and not unpowered)
    if path == SolverPath.FAST and unpowered:
        info["notes"] = [*info.get("notes", []), UNPOWERED_ROOM_NOTE]
    if auto:
        info["notes"] = [*info.get("notes", []), *auto_round_notes(options)]
    timings["solve"] = time.perf_counter() - t1
    lp = mip.lp
    counts = {"variables": lp.num_col, "rows": lp.num_row, "nonzeros": int(lp.A.nnz), "periods": len(td.periods),
              "pairs": len(td.first.pairs), "integer_columns": info["integer_columns"]}
    periods = None
    if result.status.has_solution:
        periods = (_fast_periods(td, replace(mip.fast, fast=replace(mip.fast.fast, lp=lp)), result)
                   if mip.fast is not None else _plain_periods(lp, result, td))
    return TimelineSolution(result, lp, periods, counts), info


def _plain(td: TimelineData, path: SolverPath, time_limit: float | None, prices: dict | None,
           frozen: Mapping[str, pd.Series], native: Mapping, timings: dict, t0: float) -> TimelineSolution:
    """The plain multi-period LP on the path's backend (HiGHS for fast and plain, OR-Tools GLOP
    or PDLP), both stages; any backend of the solver contract with LPs, duals and the cost stage
    takes it unchanged."""
    unfrozen = soft_rows(build_plain_timeline(td), td, prices)
    lp, moved = with_frozen_stock(unfrozen, td, frozen)
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    options = SolveOptions(time_limit=time_limit, two_stage=True, native=native)
    result = backend(PLAIN_BACKENDS.get(path, "highs")).solve(lp, options)
    if frozen and result.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED):
        # the frozen stock as read may break a later period's limit through "stock never falls":
        # move it within the file's precision against the whole LP, and solve again
        lp, moved = with_frozen_stock(unfrozen, td, frozen, whole=True)
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t1), 1e-3)
        result = backend(PLAIN_BACKENDS.get(path, "highs")).solve(lp, replace(options, time_limit=left))
    timings["solve"] = time.perf_counter() - t1
    timings.update(stage_seconds(result))
    counts = {"variables": lp.num_col, "rows": lp.num_row, "nonzeros": int(lp.A.nnz),
              "periods": len(td.periods), "pairs": len(td.first.pairs)}
    notes = ()
    if moved:
        counts["frozen_units_moved"] = moved
        notes = (f"the frozen stock as its plan file states it ({SIGNIFICANT_DIGITS} significant digits) broke a "
                 f"limit by less than that rounding; {moved} of its values were moved within it (by at most "
                 f"{FROZEN_REL_TOL:g} of themselves) to meet every limit exactly",)
    periods = _plain_periods(lp, result, td) if result.status.has_solution else None
    return TimelineSolution(result, lp, periods, counts, notes)


def _fast(td: TimelineData, time_limit: float | None, prices: dict | None, native: Mapping, timings: dict,
          t0: float) -> TimelineSolution:
    """The fast multi-period LP (optimizer.model.fast_periods) on HiGHS, both stages, on its
    additions form where that applies (optimizer.model.additions), expanded back to sites and
    pairs period by period; or, under the serve objective (soft limits or not), on fleets whose
    sites cost differently (:func:`timeline_costs_split_pools`), or whose one LP is large (:func:`large_timeline`: from
    BLOCKS_MIN_PLACEMENTS_FORM placement columns, or BLOCKS_MIN_PLACEMENTS where it has no
    additions form), :func:`_fast_by_blocks`. All are exact."""
    network = timeline_network(td)
    by_cost = timeline_pools(td, network.site_class)
    blocks_possible = not any(p.d.margin_cost.any() for p in td.periods)
    if blocks_possible:
        blind = timeline_pools(td, network.site_class, by_cost=False)
        if timeline_costs_split_pools(by_cost, blind) or large_timeline(td, by_cost, BLOCKS_MIN_PLACEMENTS_FORM):
            return _fast_by_blocks(td, network, blind, time_limit, prices, native, timings, t0)
    fm = build_fast_timeline(td, network=network, pools=by_cost)
    lp = soft_rows(fm.fast.lp, td, prices)
    form = stock_additions(lp, [p.tag for p in td.periods])      # solved in its place where it applies
    if form is None and blocks_possible and large_timeline(td, by_cost, BLOCKS_MIN_PLACEMENTS):
        return _fast_by_blocks(td, network, blind, time_limit, prices, native, timings, t0)
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    cost_stage = TIMELINE_IPM if form is not None else timeline_cost_stage_options(td, lp)
    options = SolveOptions(time_limit=time_limit, two_stage=True, native=MappingProxyType({**timeline_highs_options(td, lp), **native}),
                           cost_stage_native=MappingProxyType(dict(cost_stage)))
    result = HIGHS.solve(lp, options) if form is None else _on_original(form, HIGHS.solve(form.lp, options))
    timings["solve"] = time.perf_counter() - t1
    timings.update(stage_seconds(result))
    counts = fast_timeline_counts(td, fm, lp)
    if form is not None:
        counts.update(additions_variables=form.lp.num_col, additions_rows=form.lp.num_row)
    if not result.status.has_solution:
        return TimelineSolution(result, lp, None, counts)
    return TimelineSolution(result, lp, _fast_periods(td, replace(fm, fast=replace(fm.fast, lp=lp)), result), counts)


def fast_timeline_counts(td: TimelineData, fm: FastTimelineModel, lp: LinearProgram) -> dict[str, int]:
    """The size of a fast multi-period model (``lp``: the LP solved) for the summary's ``model``."""
    red = fm.fast.network
    return {"variables": lp.num_col, "rows": lp.num_row, "nonzeros": int(lp.A.nnz), "periods": len(td.periods),
            "site_classes": red.n_classes, "market_groups": red.n_groups, "placement_pools": fm.pools[0].n}


# With several periods and at least this many placement columns (periods x cost-keyed pools x
# chips), a one LP that has no additions form (optimizer.model.additions) runs its cost stage by
# site blocks: its own cost stage would be primal simplex through the stock chains
# (IPM_COST_STAGE_MAX_COLUMNS). Measured back to back on the harness's 3,000-site metro fleet over
# 12 quarters (96,048 placement columns), before the additions form: solve 118.6 s by blocks
# (value stage 47.9 s, cost stage 70.6 s) against 188.5 s on one LP (53.7 s, 134.8 s), the same
# optimum; with same-cost blocks the blocks also won at 1,000 sites (30,816 placement columns;
# alternated, end to end: 28.6 and 27.4 s against 31.1 and 33.3 s), and at 300 sites (7,632) it
# was a draw. With the additions form the one LP wins below BLOCKS_MIN_PLACEMENTS_FORM, so this
# rule applies only without it:
# 1,000 sites 9.1 and 9.4 s against 28.8 and 30.7 s on the original one LP (and 23.7 s by blocks
# in the harness), 3,000 sites 46.2 s (cost stage by interior point on the form) against 61.1 s
# by blocks. Per-site fleets stay on the blocks (one LP with the form: 384 s at 3,000 sites).
BLOCKS_MIN_PLACEMENTS = 20_000

# From this many placement columns the block path wins even over the one LP on its additions
# form, since its master runs without bound perturbation and reruns a failed round from its own
# basis (optimizer.solvers.highs.MASTER_SIMPLEX, run_master). Generated metro fleets over 12
# quarters, one process each, end to end in the solve, the same objective and cost to 1e-12:
# 3,000 sites (96,048 placement columns) 21.4 s by blocks against 31.0 s on one LP (seed 2:
# 23.5 against 30.2 s); 2,000 sites (63,504) 16.2 against 17.1 s; 1,000 sites (30,816) 7.3 and
# 9.5 s against 6.9 and 5.9 s; 300 sites 3.1 and 2.8 s against 2.2 and 2.1 s.
BLOCKS_MIN_PLACEMENTS_FORM = 60_000


def large_timeline(td: TimelineData, by_cost: TimelinePools, minimum: int) -> bool:
    """Whether a multi-period model with costs has at least ``minimum`` placement columns
    (periods x cost-keyed pools x chips): its cost stage then runs by site blocks (the caller has
    checked the serve objective)."""
    T = len(td.periods)
    placements = T * by_cost[0][0].n * td.first.n_chips
    return T > 1 and placements >= minimum and any(td.stock_cost(t).any() for t in range(T))


def timeline_costs_split_pools(by_cost: TimelinePools, blind: TimelinePools) -> bool:
    """As :func:`optimizer.planner.solve.cost_stage_by_blocks` over periods (the caller has checked
    the serve objective): pooling by cost (``by_cost``, :func:`timeline_pools`) leaves more than
    BY_BLOCKS_POOL_RATIO times the pools that pooling without cost (``blind``) does (sites with
    their own tariffs and PUE)."""
    return by_cost[0][0].n > BY_BLOCKS_POOL_RATIO * blind[0][0].n


def _fast_by_blocks(td: TimelineData, network: Reduction, blind: TimelinePools, time_limit: float | None,
                    prices: dict | None, native: Mapping, timings: dict, t0: float) -> TimelineSolution:
    """Value stage on pools that merge sites whatever their cost (exact: it has no cost; with soft
    limits, priced violation columns on the policy rows, as on one LP); then the cost stage, exact,
    by column generation over site blocks (:mod:`optimizer.model.costsplit_periods`; the violation
    columns stay in the master, and its value row charges them), started from the value stage's
    plan split to sites."""
    fm = build_fast_timeline(td, network=network, pools=blind)
    lp = soft_rows(fm.fast.lp, td, prices)
    fm = replace(fm, fast=replace(fm.fast, lp=lp))
    form = stock_additions(lp, [p.tag for p in td.periods])
    timings["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    options = SolveOptions(time_limit=time_limit, native=MappingProxyType({**timeline_highs_options(td, lp), **native}))
    result = HIGHS.solve(lp, options) if form is None else _on_original(form, HIGHS.solve(form.lp, options))
    timings["value_stage"] = time.perf_counter() - t1
    counts = fast_timeline_counts(td, fm, lp)
    if form is not None:
        counts.update(additions_variables=form.lp.num_col, additions_rows=form.lp.num_row)
    if not result.status.has_solution:
        timings["solve"] = timings["value_stage"]
        return TimelineSolution(result, lp, None, counts)
    phase("split pools among sites")
    x_site = split_timeline_pools(td, fm, pool_stock(td, lp, result.x), highs.solve_feasibility, by_cost=True)
    if result.status == Status.OPTIMAL:
        t2 = time.perf_counter()
        left = None if time_limit is None else max(time_limit - (t2 - t1), 1e-3)
        x_site, more = _timeline_cost_stage(td, fm, result, x_site, left, native)
        timings["cost_stage"] = time.perf_counter() - t2
        counts.update(more)
    timings["solve"] = time.perf_counter() - t1
    return TimelineSolution(result, lp, _fast_periods(td, fm, result, x_site), counts)


def _on_original(form: StockAdditions, result: SolveResult) -> SolveResult:
    """``result`` of the additions form (:mod:`optimizer.model.additions`) as a result of the
    original LP: its plan and its kept rows' duals at the original's positions (NaN for the rows
    the form drops; prices read policy and inventory rows, which it keeps); no reduced costs and
    no ranging (the form's rows are not the original's)."""
    return replace(result, x=None if result.x is None else form.original_x(result.x),
                   row_duals=None if result.row_duals is None else form.original_row_duals(result.row_duals),
                   col_duals=None, ranging=None)


# The master keeps the stock rows of the sites it does not decompose. At HiGHS's default primal
# tolerance (1e-7) its plan let such a stock fall by 6e-8 model units (0.04 % of that site's
# stock): a capex "refund" traded against the value floor, so once the plan's stock was made
# monotone again the cost ended 2.75e-7 above the plain optimum (a review found it on 1 random
# timeline in 150; tests/test_periods_costsplit.py keeps it). At 1e-9 no stock falls by more than
# 2e-18 on 80 such timelines, and all 150 give the plain optimum.
MASTER_OPTIONS = MappingProxyType({"primal_feasibility_tolerance": 1e-9})


def _timeline_cost_stage(td: TimelineData, fm: FastTimelineModel, result: SolveResult, x_site: list[np.ndarray],
                         time_limit: float | None, native: Mapping) -> tuple[list[np.ndarray], dict]:
    """Minimize the discounted cost with the value at its floor over the sites' own costs; update
    ``result`` (plan, or a note when a limit stopped it); return each period's sites x chips
    stock and the decomposition's counts."""
    lp, T, C = fm.fast.lp, len(td.periods), td.first.n_chips
    blocks, start = timeline_site_blocks(td, fm, lp)
    y0 = np.hstack([xs[blocks.sites] for xs in x_site])                # sites x (T·C)
    chains = stock_chains(td, lp, blocks.keep_rows)
    stage = TimelineCostStage(blocks, td.first.power, td.first.racks, y0, start=start, n_periods=T, chains=chains)
    cg, counts = block_cost_stage(stage, lp, result, time_limit, {**MASTER_OPTIONS, **native})
    counts["cost_chained_rows"] = 0 if chains is None else chains.n_chains
    if cg.x is None:
        return x_site, counts
    n_kept = len(blocks.keep_cols)
    placed = stage.placement(cg.x[n_kept:]).reshape(len(blocks.sites), T, C)
    x = np.zeros(lp.num_col)
    x[blocks.keep_cols] = cg.x[:n_kept]
    out = []
    for t, (p, pl) in enumerate(zip(td.periods, fm.pools)):
        xs = x_site[t].copy()
        xs[blocks.sites] = placed[:, t]
        own = np.flatnonzero(pl.pool_of_site >= 0)
        own = own[~fm.merged[pl.pool_of_site[own]]]
        xs[own] = x[lp.var_blocks["x" + p.tag].slice].reshape(-1, C)[pl.pool_of_site[own]]
        pooled = np.zeros((pl.n, C))
        np.add.at(pooled, pl.pool_of_site[blocks.sites], xs[blocks.sites])
        x[lp.var_blocks["x" + p.tag].slice] = np.where(fm.merged[:, None], pooled,
                                                       x[lp.var_blocks["x" + p.tag].slice].reshape(-1, C)).ravel()
        out.append(xs)
    result.x, result.objective, result.cost = x, float(lp.c @ x), cg.cost
    return out, counts


def pool_stock(td: TimelineData, lp: LinearProgram, x: np.ndarray) -> list[np.ndarray]:
    """Each period's pools x chips stock (model units) of a fast multi-period solution."""
    return [x[lp.var_blocks["x" + p.tag].slice].reshape(-1, td.first.n_chips) for p in td.periods]


def _fast_periods(td: TimelineData, fm: FastTimelineModel, result: SolveResult,
                  x_site: list[np.ndarray] | None = None) -> list[PeriodSolution]:
    """Each period's stock, service and prices from a fast multi-period solution (``fm.fast.lp``
    the LP solved): pools split back to sites (or ``x_site``, each period's sites x chips stock,
    when already known), service unfolded to pairs."""
    lp, x = fm.fast.lp, result.x
    if x_site is None:
        x_site = split_timeline_pools(td, fm, pool_stock(td, lp, x), highs.solve_feasibility)
    periods = []
    for p, xs in zip(td.periods, x_site):
        m, site, amount = unfold_service(p.d, fm.fast, x, xs, p.tag)
        fleet = p.d.installed_total + float((xs @ p.d.tpp).sum())
        periods.append(PeriodSolution(site_chip_series(p.d, xs * UNIT), m, site, amount,
                                      period_prices(lp, result, p, fleet)))
    return periods


TIMELINE_IPM = {"solver": "ipx"}      # interior point on timelines: IPX by name, never HiPO (see below)


def timeline_highs_options(td: TimelineData, lp: LinearProgram) -> dict:
    """HiGHS method for the value stage: a one-period timeline as a snapshot
    (:func:`optimizer.planner.solve.fast_highs_options`); with several periods interior point
    (with crossover), since the stock rows chaining the periods make simplex slow (measured on a
    generated 1,000-site fleet over 12 quarters: 158 s dual simplex, 13 s interior point). The
    interior point is IPX, not HiPO (which ``ipm`` picks when highspy-extras is installed):
    on these stock-chained models HiPO was slower (1,000 sites x 12 quarters: 8.6 s against 7.2 s
    on the metro fleet, 8.5 s against 5.6 s per site; harness runs) and, as the cost stage, ended
    short of optimal on the metro fleet (see :func:`timeline_cost_stage_options`)."""
    return fast_highs_options(lp) if len(td.periods) == 1 else dict(TIMELINE_IPM)


IPM_COST_STAGE_MAX_COLUMNS = 50_000


def timeline_cost_stage_options(td: TimelineData, lp: LinearProgram) -> dict:
    """HiGHS method for the cost stage. A one-period timeline as a snapshot, and any model from
    IPM_COST_STAGE_MAX_COLUMNS columns: primal simplex from the value stage's basis
    (COST_STAGE_OPTIONS). Below that, with several periods: interior point again, from scratch,
    with crossover (so the plan is a vertex), because primal simplex from the value stage's vertex
    needs tens of thousands of iterations through the stock rows. Measured in one process on a
    generated 1,000-site fleet over 12 quarters (37,296 columns; machine shared, load ~6): primal
    simplex 61 s (22,196 iterations), interior point 21-23 s (61 iterations, 301 crossover), the
    same optimum and cost. At 3,000 sites (127,488 columns) the crossover dominates (77,000
    pushes in the value stage alone) and a second one made the harness cell pass 600 s, where
    primal simplex had taken 70-75 s end to end: there the cost stage stays primal simplex.
    IPX, not HiPO: HiPO's cost stage on `generate --sites 1000 --periods 12` (metro) stopped short
    of optimal, leaving a plan whose cost was not minimised (status feasible; tested)."""
    if len(td.periods) == 1 or lp.num_col >= IPM_COST_STAGE_MAX_COLUMNS:
        return dict(COST_STAGE_OPTIONS)
    return dict(TIMELINE_IPM)


def stage_seconds(result: SolveResult) -> dict[str, float]:
    """The seconds of the value and cost stages, where the solver reported them."""
    return {k: v for k, v in result.seconds.items() if k in ("value_stage", "cost_stage")}


def _pulp(td: TimelineData, time_limit: float | None, timings: dict, objective: Objective) -> TimelineSolution:
    """The algebraic multi-period model on CBC (the independent reference)."""
    from optimizer.solvers.pulp_cbc import solve_pulp_timeline  # imported on demand
    timings["build"] = 0.0
    t1 = time.perf_counter()
    result, stocks, served = solve_pulp_timeline(td, time_limit=time_limit, objective=objective)
    timings["solve"] = time.perf_counter() - t1
    counts = {"periods": len(td.periods), "pairs": len(td.first.pairs)}
    if not result.status.has_solution:
        return TimelineSolution(result, None, None, counts)
    s = td.first.scenario
    periods = []
    for stock, svc in zip(stocks, served):
        periods.append(PeriodSolution(
            stock, s.markets.index.get_indexer(svc.index.get_level_values("market_id")),
            s.sites.index.get_indexer(svc.index.get_level_values("site_id")), svc.to_numpy()))
    return TimelineSolution(result, None, periods, counts)


def _plain_periods(lp: LinearProgram, result: SolveResult, td: TimelineData) -> list[PeriodSolution]:
    """Each period's stock, service and prices from a plain multi-period solution."""
    x, out = result.x, []
    pairs = td.first.pairs
    for p in td.periods:
        stock = lp.values(x, "x" + p.tag) * UNIT
        fleet = p.d.installed_total + float(stock.to_numpy() @ p.d.tpp[np.tile(np.arange(p.d.n_chips), len(td.sites))]) / UNIT
        out.append(PeriodSolution(stock, pairs["m"].to_numpy(), pairs["s"].to_numpy(),
                                  x[lp.var_blocks["f" + p.tag].slice] * MTPP,
                                  period_prices(lp, result, p, fleet)))
    return out


def soft_rows(lp: LinearProgram, td: TimelineData, prices: dict[str, float] | None) -> LinearProgram:
    """``lp``, or with a priced violation column on every policy row of every period: the
    family's price per TPP times the period's years·discount (as its value is weighted)."""
    if prices is None:
        return lp
    rows = policy_rows(lp)
    weight = {p.id: p.weight for p in td.periods}
    return with_elastic_rows(lp, rows, np.array([prices[blk.family] * weight[name.rpartition("@")[2]]
                                                 for name, blk in rows]))


def period_prices(lp: LinearProgram, result: SolveResult, p, fleet_mtpp: float) -> dict[str, Any]:
    """Period p's prices from the value stage's duals (optimal plans only), in the units of
    ``explain``: a share limit per +1 pp (y·T_t·0.01·MTPP), an amount per +1,000 H100e
    (y·15,832,000), a sku's availability per +1 unit (y·MTPP/UNIT)."""
    if result.status != Status.OPTIMAL or result.row_duals is None:
        return {}
    y = result.row_duals
    policy = {}
    for lim in p.d.limits:
        blk = lp.row_blocks.get(lim.row + p.tag)
        if blk is not None:
            policy[lim.name] = float(y[blk.start] * (fleet_mtpp * 0.01 * MTPP if lim.unit == SHARE else H100E_TPP * 1000))
    inv = lp.row_blocks["inventory" + p.tag]
    inventory = {str(k): float(v) * MTPP / UNIT for k, v in zip(inv.index, y[inv.slice])}
    return {"policy": policy, "inventory_per_unit": inventory}


# Plan files round every number to SIGNIFICANT_DIGITS significant digits, so a plan read back lies
# up to 5e-10 of itself from the solution it was. Fixed as read, a plan at a binding limit broke
# that limit by as much: re-planning from a plan just written ended "infeasible" (found by a
# careless-user pass, on every generated per-site fleet it tried). Frozen stock is therefore held
# to the precision a plan file carries.
FROZEN_REL_TOL = FILE_PRECISION


def with_frozen_stock(lp: LinearProgram, td: TimelineData, frozen: Mapping[str, pd.Series],
                      var: str = "x", whole: bool = False) -> tuple[LinearProgram, int]:
    """``lp`` with the new stock of each frozen period fixed (column bounds lo = hi) to the given
    units x̂ as a plan file states them (:func:`stock_at_file_precision` over the rows the frozen
    stock alone decides, or with ``whole`` over every row of ``lp``), and how many of its values
    that moved; a (site, sku) the period has no column for holds no frozen stock (checked by
    :func:`_check_frozen`)."""
    if not frozen:
        return lp, 0
    held, value = np.zeros(lp.num_col, dtype=bool), np.zeros(lp.num_col)
    for p in td.periods:
        if p.id in frozen:
            blk = lp.var_blocks[var + p.tag]
            held[blk.slice] = True
            value[blk.slice] = frozen[p.id].reindex(blk.index).fillna(0.0).to_numpy(float) / UNIT
    later = np.zeros(lp.num_col, dtype=bool)           # the stock of the periods left to plan
    for name, blk in lp.var_blocks.items():
        later[blk.slice] |= name.startswith(var + "@")
    violations = np.zeros(lp.num_col, dtype=bool)      # soft limits' priced violation columns
    if "violation" in lp.var_blocks:
        violations[lp.var_blocks["violation"].slice] = True
    x = stock_at_file_precision(lp, held, value[held], None if whole else later & ~held, violations)
    lo, hi = lp.col_lo.copy(), lp.col_hi.copy()
    lo[held] = hi[held] = x
    return replace(lp, col_lo=lo, col_hi=hi), int(np.count_nonzero(x != value[held]))


def stock_at_file_precision(lp: LinearProgram, held: np.ndarray, value: np.ndarray,
                            later: np.ndarray | None, violations: np.ndarray | None = None) -> np.ndarray:
    """The frozen stock (the columns ``held``, read as x̂ = ``value``) to the precision of a plan
    file: the point of the box |x - x̂| <= FROZEN_REL_TOL·x̂ with the least Σ_j |x_j - x̂_j| / x̂_j
    (so most values stay as read) that, with ``lp``'s other columns free within their bounds,
    meets the rows no column of ``later`` (the stock still to plan) enters, or with ``later``
    None every row of ``lp``; x̂ itself when it meets them with the other columns at their bound
    nearest 0, or when no point of the box does (a limit broken by more than the file's rounding:
    the solve reports the trap). The columns ``violations`` (soft limits' priced violations) stay
    at 0 if they can, so that rounding is not priced as a violation."""
    if later is not None and _meets(lp, held, value, later):
        return value
    tries = [lp]
    if violations is not None and violations.any():         # first with every violation at 0
        tries.insert(0, replace(lp, col_hi=np.where(violations, np.clip(0.0, lp.col_lo, lp.col_hi), lp.col_hi)))
    for limits in tries:
        x = _nearest_stock(limits, held, value, later)
        if x is not None:
            return x
    return value


def _nearest_stock(lp: LinearProgram, held: np.ndarray, value: np.ndarray,
                   later: np.ndarray | None) -> np.ndarray | None:
    """:func:`stock_at_file_precision`'s point of the box, from one LP (HiGHS); None when the box
    holds none."""
    A = lp.A.tocsr()
    rows = _rows_decided(A, held, later)
    rest = np.flatnonzero(~held)
    sub = A[rows]
    a, b = sub[:, np.flatnonzero(held)], sub[:, rest]
    activity = a @ value
    used = np.flatnonzero(abs(b).sum(axis=0).A1 > 0)       # the other columns these rows hold
    b, rest = b[:, used], rest[used]
    box = FROZEN_REL_TOL * np.abs(value)
    weight = -1.0 / np.where(value != 0, np.abs(value), 1.0)          # maximized: -|deviation| / x̂
    n = len(value)
    near = LinearProgram(A=sp.hstack([a, -a, b]).tocsr(), c=np.concatenate([weight, weight, np.zeros(len(rest))]),
                         cost=np.zeros(2 * n + len(rest)), col_lo=np.concatenate([np.zeros(2 * n), lp.col_lo[rest]]),
                         col_hi=np.concatenate([box, box, lp.col_hi[rest]]), row_lo=lp.row_lo[rows] - activity,
                         row_hi=lp.row_hi[rows] - activity, var_blocks={}, row_blocks={})
    result = highs.solve_lp(near, options={"primal_feasibility_tolerance": 1e-10}, lexicographic=False)
    if result.status != Status.OPTIMAL:
        return None
    return value + np.clip(result.x[:n], 0.0, box) - np.clip(result.x[n:2 * n], 0.0, box)


def _rows_decided(A: sp.csr_matrix, held: np.ndarray, later: np.ndarray | None) -> np.ndarray:
    """The rows the frozen stock must meet in :func:`stock_at_file_precision`: every row (``later``
    None), or those it enters that no column of ``later`` does."""
    if later is None:
        return np.arange(A.shape[0])
    return np.flatnonzero((abs(A) @ held.astype(float) > 0) & (abs(A) @ later.astype(float) == 0))


def _meets(lp: LinearProgram, held: np.ndarray, value: np.ndarray, later: np.ndarray | None) -> bool:
    """Whether the frozen stock x̂ meets the rows of :func:`_rows_decided` with ``lp``'s other
    columns at their bound nearest 0."""
    A = lp.A.tocsr()
    rows = _rows_decided(A, held, later)
    x = np.clip(0.0, lp.col_lo, lp.col_hi)
    x[held] = value
    activity = A[rows] @ x
    return bool(np.all((activity >= lp.row_lo[rows]) & (activity <= lp.row_hi[rows])))


def _check_frozen(td: TimelineData, frozen: Mapping[str, pd.Series]) -> None:
    """Frozen stock must sit where the model can hold it: at a site open in that period (else
    InfeasibleError naming the period and the Tier-3 ban), and at a known site and sku (else
    InputError); stock held at a site that a later period closes is a stock trap (exit 3)."""
    s = td.first.scenario
    for t, p in enumerate(td.periods):
        stock = frozen.get(p.id)
        if stock is None:
            continue
        stock = stock.loc[stock > 0]
        site_ids = stock.index.get_level_values("site_id")
        unknown = sorted(set(site_ids) - set(s.sites.index)) + sorted(
            set(stock.index.get_level_values("sku")) - set(s.chips.index))
        if unknown:
            raise InputError(f"--plan: placement.csv names sites or skus that this scenario does not have: "
                             f"{', '.join(unknown[:5])}; re-plan with the plan of this scenario")
        held = set(s.sites.index.get_indexer(site_ids))
        for later in td.periods[t:]:
            closed = sorted(s.sites.index[sorted(held - set(later.d.open_sites))])
            if closed:
                ban = Family.TIER3_BAN.value
                raise InfeasibleError(
                    f"infeasible: in period {later.id}: {ban}: the frozen stock through {p.id} holds new "
                    f"units at {', '.join(closed[:5])}, which period {later.id}'s policy closes (Tier 3 with "
                    "the ban on); units cannot be removed", [ban], [f"{ban}@{later.id}"])


def _raise_for_status(sol: TimelineSolution, td: TimelineData, frozen_through: str | None) -> None:
    """Infeasible: diagnosed over every period's policy rows (exit 3, naming period and limit);
    any other status without a plan: as a snapshot solve (exit 4). "Infeasible or unbounded"
    (OR-Tools says it of an infeasible plain LP, whose value columns have no upper bounds) is
    told apart first (:func:`_definite_status`)."""
    from optimizer.planner.solve import _raise_for_status as snapshot_raise
    from optimizer.results.solution import Solution
    status = _definite_status(sol)
    if status == Status.INFEASIBLE and sol.lp is not None:
        frozen = f" (stock frozen through {frozen_through})" if frozen_through else ""
        limits = {lim.row + p.tag: (p.d, lim, f"in period {p.id}{frozen}: {lim.name}: ")
                  for p in td.periods for lim in p.d.limits}
        message, families, names = diagnose_rows(sol.lp, limits)
        raise InfeasibleError(f"infeasible: {message}", families, names)
    if status == Status.INFEASIBLE_OR_UNBOUNDED and sol.lp is not None:
        raise SolverError(f"{sol.result.solver}: infeasible or unbounded: the solver proved one of the two "
                          "without saying which, and a re-solve did not tell them apart", status.value)
    if not status.has_solution:
        snapshot_raise(Solution(replace(sol.result, status=status), lp=sol.lp), td.first)


def _definite_status(sol: TimelineSolution) -> Status:
    """The solve's status, with "infeasible or unbounded" settled on the LP: infeasible when its
    column bounds cap the value (:meth:`LinearProgram.objective_bounded`), else as HiGHS finds
    it without presolve (which tells the two apart)."""
    status = sol.result.status
    if status != Status.INFEASIBLE_OR_UNBOUNDED or sol.lp is None:
        return status
    if sol.lp.objective_bounded():
        return Status.INFEASIBLE
    return highs.solve_lp(sol.lp, options={"presolve": "off"}, lexicographic=False).status


def soft_summary(sol: TimelineSolution, td: TimelineData, prices: dict[str, float],
                 figures: Mapping[str, Any]) -> dict:
    """Each violated policy limit of each period: by how much (TPP, and points of that period's
    fleet) and what it cost, weighted by the period's years·discount as in the objective."""
    lp = sol.lp
    blk = lp.var_blocks.get("violation")
    fleet = {r["period"]: r["total_tpp"] for r in figures["periods"]}
    weight = {p.id: p.weight for p in td.periods}
    rows = []
    for name, e in zip(blk.index if blk else [], sol.result.x[blk.slice] if blk else []):
        if e * MTPP <= 1e-3:
            continue
        limit, _, period = name.rpartition("@")
        family = lp.row_blocks[name].family
        tpp = float(e * MTPP)
        rows.append({"limit": limit, "period": period, "family": family, "violation_tpp": tpp,
                     "violation_pp": 100.0 * tpp / fleet[period] if family in SHARE_FAMILIES and fleet[period] else None,
                     "price_per_tpp": prices[family], "cost": tpp * prices[family] * weight[period]})
    penalty = sum(r["cost"] for r in rows)
    return {"prices_per_tpp": prices, "violations": rows, "penalty": penalty,
            "objective_with_penalties": figures["objective"] - penalty}

