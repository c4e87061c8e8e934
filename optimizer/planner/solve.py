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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from optimizer.analysis.compliance import compare_to_baseline
from optimizer.analysis.diagnose import diagnose
from optimizer.analysis.explain import probe_share_prices, shadow_prices, unserved_demand
from optimizer.errors import InfeasibleError, InputError, SolverError
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.validation import load_scenario
from optimizer.model.costsplit import GAP_REL, CostStage, site_blocks
from optimizer.model.data import MTPP, UNIT, ModelData, Objective
from optimizer.model.elastic import policy_rows, with_elastic_rows
from optimizer.model.eligibility import eligibility_key
from optimizer.model.fast import FastModel, build_fast, fleet_network
from optimizer.model.lp import LinearProgram
from optimizer.model.plain import build_plain
from optimizer.model.pools import make_pools, pools_miss_unpowered_room
from optimizer.model.reduce import Reduction
from optimizer.planner.integer import IntegerMethod, IntegerOptions, MipSolver, auto_round_notes, solve_integer
from optimizer.policy.policy import Policy, load_policy
from optimizer.policy.rules import ROW_FAMILIES, SHARE_FAMILIES
from optimizer.policy.rules import default_soft_prices as rule_soft_prices
from optimizer.progress import phase, section
from optimizer.results.plan import Plan, placement_table, service_table
from optimizer.results.solution import Solution, expand_fast, site_placement
from optimizer.results.summary import build_summary, freeze, plan_figures
from optimizer.solvers import highs
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.highs import HIGHS, ColumnGeneration
from optimizer.solvers.registry import backend
from optimizer.solvers.result import SolveResult, Status, Termination, cost_stage_stopped, value_floor


class SolverPath(str, Enum):
    """How the model is formulated and which solver takes it."""

    FAST = "fast"
    PLAIN = "plain"
    PULP = "pulp"
    ORTOOLS_GLOP = "ortools-glop"
    ORTOOLS_PDLP = "ortools-pdlp"


SOFT_PRICE_FACTOR = 10.0   # default price per TPP of violation: 10 x the largest market value


def default_soft_prices(s: Scenario) -> dict[str, float]:
    """Default price per TPP of violation, per family: 10 x the largest market value (1 when no
    market has a positive value), divided for the shares by how much fleet one TPP of violation
    can free (1/h for a minimum share h, 1/(1 - a) for a maximum a): a TPP of violation costs
    more than the value it frees, however large the values, so a soft plan equals the hard one
    when that exists (unless a limit's dual price exceeds its penalty, which takes many limits
    binding together; the violation then shows in summary.json ``soft``)."""
    values = s.markets["value"].to_numpy(float)
    top = float(values.max()) if len(values) and values.max() > 0 else 1.0
    return rule_soft_prices(s.policy, SOFT_PRICE_FACTOR * top)


def soft_prices(spec: dict[str, float] | None, s: Scenario | None = None) -> dict[str, float]:
    """Price per TPP of violation for every policy family (unnamed families get the default of
    :func:`default_soft_prices`, or 10 without a scenario)."""
    spec = dict(spec or {})
    unknown = sorted(set(spec) - set(ROW_FAMILIES))
    if unknown:
        raise InputError(f"--soft-price: unknown limit family {', '.join(unknown)}; families are "
                         f"{', '.join(ROW_FAMILIES)}")
    bad = sorted(k for k, v in spec.items() if not (v >= 0 and np.isfinite(v)))
    if bad:
        raise InputError(f"--soft-price: prices must be finite numbers >= 0; bad for {', '.join(bad)}")
    default = default_soft_prices(s) if s is not None else dict.fromkeys(ROW_FAMILIES, SOFT_PRICE_FACTOR)
    return {f: float(spec.get(f, default[f])) for f in ROW_FAMILIES}


def check_run_options(path: SolverPath | str, time_limit: float | None, gap: float | None,
                      integer: bool = True) -> tuple[SolverPath, float | None]:
    """Refuse (InputError, every problem at once) a path, time limit or MIP gap that the solvers
    cannot honour (HiGHS fails on a negative time limit and ignores a NaN one), and a gap that
    an LP would silently ignore. Returns the path and the time limit, infinity meaning none."""
    problems = []
    try:
        path = SolverPath(path)
    except ValueError:
        problems.append(f"--path {path}: unknown; paths are {', '.join(p.value for p in SolverPath)}")
    if time_limit is not None and not time_limit > 0:     # NaN fails this comparison too
        problems.append(f"--time-limit {time_limit:g}: must be a number of seconds > 0 (inf: no limit)")
    if gap is not None and not 0 <= gap < 1:
        problems.append(f"--gap {gap:g}: must be a fraction >= 0 and < 1 (0.01 is 1 %)")
    if gap is not None and not integer:
        problems.append("--gap is the MIP gap of integer plans: add --integer, or leave --gap out")
    if problems:
        raise InputError(problems)
    return path, None if time_limit == float("inf") else time_limit


def check_objective(s: Scenario, objective: Objective | str) -> Objective:
    """The objective as an enum; InputError for a name that is none, and for ``margin`` with
    abstract values, where it has no meaning (revenue less dollars of cost would add apples to
    pears: give markets.csv usd_per_h100e_hour). Integer plans' ``fixed_cost_usd`` is charged as
    an annuity (economics.toml ``fixed_cost_life_years``), see optimizer.inputs.economics."""
    try:
        objective = Objective(objective)
    except ValueError:
        raise InputError(f"--objective {objective}: unknown; objectives are "
                         f"{', '.join(o.value for o in Objective)}") from None
    if objective != Objective.MARGIN:
        return objective
    if not s.economics.dollars:
        raise InputError("--objective margin needs market values in dollars: markets.csv gives value "
                         "(abstract units), so revenue cannot be set against cost; give usd_per_h100e_hour "
                         "instead of value, or use --objective serve")
    return objective


UNPOWERED_ROOM_NOTE = ("solved on the plain formulation: a chip draws no power (power_kw 0) and a site has racks "
                       "but no power left, which the fast path's site pools do not hold; the plan is the same optimum")


def solve(s: Scenario, path: SolverPath | str = SolverPath.FAST, time_limit: float | None = None,
          highs_options: dict | None = None, soft: dict[str, float] | None = None,
          integer: bool = False, method: IntegerMethod | str = IntegerMethod.AUTO,
          mip_solver: MipSolver | str = MipSolver.HIGHS, gap: float | None = None,
          warm: highs.WarmStart | None = None, probe_shares: bool = False,
          baseline: Policy | str | Path | None = None, objective: Objective | str = Objective.SERVE) -> Plan:
    """Maximize value served (or the margin), then minimize cost; raise InfeasibleError or SolverError.

    ``objective``: ``serve`` (the most valuable demand served, then the cheapest plan) or
    ``margin`` (revenue less annualised cost; values must be dollars, see :func:`check_objective`).

    ``soft``: policy limits become penalized (price per TPP of violation, per family; see
    :func:`soft_prices`) instead of hard; fast and plain paths only.
    ``highs_options``: HiGHS options by HiGHS's names (fast and plain paths only).
    ``integer``: new units in whole racks (see :mod:`optimizer.planner.integer`); ``method`` ``exact``,
    ``round`` or ``auto`` (exact up to AUTO_EXACT_MAX_COLUMNS integer columns), ``mip_solver``
    ``highs``, ``ortools`` or ``cbc`` for the exact method (enum members or their values), ``gap``
    the relative MIP gap.
    ``warm``: reuse one HiGHS model across calls whose LPs share their structure (sweeps).
    Shadow prices (fast path, optimal LP plans) carry their right-hand-side ranges, except in
    warm-started sweeps; ``probe_shares`` also re-solves each priced share limit at +-0.01 pp.
    A plan stopped by a limit has status ``feasible`` and no prices.
    ``baseline``: a policy (a Policy, preset name or TOML path; e.g. ``"none"``) to solve the
    scenario's folder under as well, on the same path and time limit as an LP; the summary's
    ``baseline`` block is the cost of compliance (:mod:`optimizer.analysis.compliance`).

    The plan comes back finished: its summary is built once, from every part, and is read-only.
    """
    path, time_limit = check_run_options(path, time_limit, gap, integer)
    objective = check_objective(s, objective)
    choice = integer_choice(method, mip_solver) if integer else None
    prices = soft_prices(soft, s) if soft is not None else None
    if prices is not None and (path not in (SolverPath.FAST, SolverPath.PLAIN) or integer):
        raise InputError("--soft works with the fast and plain LP paths only")
    if highs_options and (path not in (SolverPath.FAST, SolverPath.PLAIN) or integer):
        raise InputError("highs_options work with the fast and plain LP paths only")
    if integer and path != SolverPath.FAST:
        raise InputError(f"--path {path.value} with --integer: a whole-rack plan builds its own MIP and "
                         "solves it with --solver (highs, ortools or cbc); leave --path out")
    baseline = baseline_policy(baseline, s) if baseline is not None else None    # before any work
    t0 = time.perf_counter()
    phase("build")
    d = ModelData.from_scenario(s, objective)
    if warm is not None:     # sweeps: site-market eligibility rarely changes between variants
        d.set_eligibility(warm.cached(eligibility_key(s), lambda: d.eligibility))
    routed = []
    if path == SolverPath.FAST and choice is None and pools_miss_unpowered_room(d):
        path, routed = SolverPath.PLAIN, [UNPOWERED_ROOM_NOTE]
    run = LpRun(path, time_limit, MappingProxyType(dict(highs_options or {})), prices, warm,
                dict(s.load_timings), t0, objective)
    timings = run.timings
    if choice is not None:
        sol, info = _integer(d, IntegerOptions(*choice, time_limit, gap), run)
    else:
        sol = {SolverPath.FAST: _fast, SolverPath.PULP: _pulp}.get(path, _plain)(d, run)
    _raise_for_status(sol, d)
    t1 = time.perf_counter()
    phase("tables and summary")
    placement = placement_table(s, sol.new_units)
    service = service_table(s, sol.market_pos, sol.site_pos, sol.served)
    # the tables and their figures, which the analysis blocks read; the finished plan replaces the summary
    tables = Plan(placement, service, freeze(plan_figures(s, placement, service)), s)
    notes = list(s.notes) + routed + sol.result.notes
    if integer:
        notes += info.get("notes", [])
    else:
        notes += build_decision_notes(s)
    explained = (explain(tables, d, sol, probe_shares)
                 if sol.fast_model is not None and not integer and sol.result.status == Status.OPTIMAL else None)
    timings["extract"] = time.perf_counter() - t1
    summary = build_summary(
        s, sol.result, tables.summary, model=sol.counts or {}, notes=notes, timings=timings,
        path=f"integer-{info['method']}" if integer else path.value,
        mode="integer" if integer else "lp-soft" if prices is not None else "lp", objective=objective.value,
        integer={k: v for k, v in info.items() if k != "notes"} if integer else None,
        soft=soft_summary(sol, prices, tables.summary) if prices is not None else None,
        explain=explained.summary if explained else None,
        baseline=_baseline(tables, baseline, BaselineRun(path, time_limit, soft, integer, method, mip_solver, gap,
                                                          objective))
        if baseline is not None else None)
    return replace(tables, summary=summary, prices=explained.prices if explained else None,
                   unserved=explained.unserved if explained else None)


def build_decision_notes(s: Scenario) -> list[str]:
    """The note an LP plan gives when sites.csv has build decisions, which it does not model."""
    if ((s.sites["fixed_cost_usd"] > 0) | (s.sites["min_new_mw"] > 0)).any():
        return ["sites.csv has fixed_cost_usd / min_new_mw: these build decisions are "
                "modelled in integer mode (--integer) only; this LP plan ignores them when it "
                "optimises, but its cost (fixed_usd) and margin count the fixed cost of every site it "
                "adds units to, which the LP did not minimise (plans of equal value may differ there)"]
    return []


def baseline_policy(spec: Policy | str | Path, s: Scenario) -> Policy:
    """The baseline policy, loaded (a bad name is exit 2 before the solve, not after it), for a
    scenario that can be read again from its folder."""
    if s.path is None:
        raise InputError("--baseline: this scenario was not read from a folder, so it cannot be read "
                         "again under the baseline policy")
    try:
        return spec if isinstance(spec, Policy) else load_policy(spec)
    except InputError as exc:
        raise InputError([f"--baseline {spec}: {line}" for line in exc.problems]) from None


@dataclass(frozen=True)
class BaselineRun:
    """How the plan was solved, so that its baseline is solved the same way: the same path, time
    limit, soft prices and integer method, solver and gap. Otherwise the rounding loss of whole
    racks or a soft penalty would be counted as the policy's cost."""

    path: SolverPath
    time_limit: float | None
    soft: dict[str, float] | None
    integer: bool
    method: IntegerMethod | str
    mip_solver: MipSolver | str
    gap: float | None
    objective: Objective


def _baseline(tables: Plan, policy: Policy, how: BaselineRun) -> dict:
    """The cost of compliance: the scenario's folder solved under ``policy`` the way this plan was
    (see :class:`BaselineRun`), compared with this plan's tables and figures."""
    return baseline_block(policy, lambda: solve(
        load_scenario(tables.scenario.path, policy), path=how.path, time_limit=how.time_limit, soft=how.soft,
        integer=how.integer, method=how.method, mip_solver=how.mip_solver, gap=how.gap, objective=how.objective),
        lambda base: compare_to_baseline(tables, base))


def baseline_block(policy: Policy, solve_baseline: Callable[[], Plan], compare: Callable[[Plan], dict]) -> dict:
    """The summary's ``baseline`` block: ``compare`` of the plan ``solve_baseline`` gives, with its
    status and LP mode. A baseline with no plan (infeasible, or no plan in time) does not sink
    this plan: the block says why."""
    try:
        with section(f"baseline {policy.name}"):
            base = solve_baseline()
    except (InfeasibleError, SolverError) as exc:
        status = "infeasible" if isinstance(exc, InfeasibleError) else getattr(exc, "status", "error")
        return {"baseline_policy": policy.name, "status": str(status),
                "message": f"the baseline policy {policy.name} gives no plan for this scenario: {exc}"}
    mode = base.summary.get("lp_mode", base.summary["mode"])     # a multi-period summary's mode is multi-period
    return {**compare(base), "status": base.summary["status"], "mode": mode}


EXPLAIN_ROWS = 25


@dataclass(frozen=True)
class Explanation:
    """Shadow prices (with their ranges), unserved demand and the summary's ``explain`` block."""

    prices: pd.DataFrame
    unserved: pd.DataFrame
    summary: dict


def explain(tables: Plan, d: ModelData, sol: Solution, probe_shares: bool = False) -> Explanation:
    """Shadow prices (with their ranges) and unserved demand of an optimal fast-path plan
    (``tables``: its placement, service and figures); ``probe_shares``: re-solve around each
    priced share limit."""
    phase("explain")
    prices = shadow_prices(d, sol.fast_model, sol.result)
    if probe_shares:
        prices = probe_share_prices(sol.lp, prices, d.installed_total, sol.result.bound,
                                    fast_highs_options(sol.lp))
    unserved = unserved_demand(d, tables, prices)
    policy = prices.loc[prices["family"].isin(ROW_FAMILIES)]
    physical = prices.loc[~prices.index.isin(policy.index)].head(EXPLAIN_ROWS)
    return Explanation(prices, unserved, {
        "sign_convention": "value_per_unit: objective gained per unit of headroom on the limit; "
                           "it holds while the limit stays within [valid_from, valid_to]",
        "value_unit": d.scenario.economics.value_unit,
        "policy_prices": policy.to_dict("records"),
        "physical_prices_top": physical.to_dict("records"),
        "unserved_tpp_by_reason": unserved.groupby(unserved["reason"].str.split(":").str[0])
        ["unserved_tpp"].sum().to_dict(),
        "unserved_markets": unserved.sort_values("unserved_tpp", ascending=False)
        .head(EXPLAIN_ROWS).to_dict("records"),
    })


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


def _elastic(lp: LinearProgram, prices: dict[str, float] | None) -> LinearProgram:
    """The LP to solve: ``lp`` itself, or with priced violation columns on the policy rows."""
    if prices is None:
        return lp
    rows = policy_rows(lp)
    return with_elastic_rows(lp, rows, np.array([prices[blk.family] for _, blk in rows]))


def soft_summary(sol: Solution, prices: dict[str, float], figures: Mapping[str, Any]) -> dict:
    """Each violated policy limit: by how much (TPP, and points of share) and what it cost
    (``figures``: the plan's, from :func:`optimizer.results.summary.plan_figures`)."""
    lp = sol.lp
    blk = lp.var_blocks.get("violation")
    fleet = figures["total_tpp"]
    rows = []
    for name, e in zip(blk.index if blk else [], sol.result.x[blk.slice] if blk else []):
        family = lp.row_blocks[name].family
        if e * MTPP <= 1e-3:
            continue
        tpp = float(e * MTPP)
        rows.append({"limit": name, "family": family, "violation_tpp": tpp,
                     "violation_pp": 100.0 * tpp / fleet if family in SHARE_FAMILIES and fleet else None,
                     "price_per_tpp": prices[family], "cost": tpp * prices[family]})
    penalty = sum(r["cost"] for r in rows)
    return {"prices_per_tpp": prices, "violations": rows, "penalty": penalty,
            "objective_with_penalties": figures["objective"] - penalty}


@dataclass(frozen=True)
class LpRun:
    """What one solve needs besides the model data: the path, the time limit, extra HiGHS
    options, soft prices, a warm-start session, and where phase timings go (from ``t0``)."""

    path: SolverPath
    time_limit: float | None
    highs_options: Mapping
    prices: dict[str, float] | None
    warm: highs.WarmStart | None
    timings: dict[str, float]
    t0: float
    objective: Objective = Objective.SERVE


BY_BLOCKS_POOL_RATIO = 1.5

# From this many placement columns (cost-keyed pools x chips) the cost stage runs by site blocks
# on any fleet with costs, since the block master runs without bound perturbation
# (optimizer.solvers.highs.MASTER_SIMPLEX). Generated metro fleets, one process each, the same
# objective and cost to 1.2e-13: 30,000 sites (104,724 placement columns) 37.0 s by blocks
# against 94.4 s on one LP; 10,000 sites (23,568) 5.8 against 6.7 s; 3,000 sites (5,676) 0.8
# against 0.9 s.
SNAPSHOT_BLOCKS_MIN_PLACEMENTS = 50_000


def cost_stage_by_blocks(d: ModelData, network: Reduction) -> bool:
    """True when the value stage has no cost (the serve objective: the margin objective charges
    cost there, and the master of optimizer.model.costsplit holds no value on its placement
    columns) and either pooling sites by unit cost leaves more than BY_BLOCKS_POOL_RATIO times the
    pools that pooling without cost does (sites with their own tariffs and PUE), or the one LP
    would have SNAPSHOT_BLOCKS_MIN_PLACEMENTS placement columns: then the cost stage runs by site blocks.
    Otherwise (a metro's campuses share a tariff, a smaller fleet) one LP with cost-keyed pools is
    as small, and both stages on it are faster (measured: 1.2x the pools on generated
    metro-tariff fleets, 5.7x on per-site ones, see benchmarks/RESULTS.md)."""
    if d.margin_cost.any():
        return False
    by_cost = make_pools(d, network.site_class).n
    if by_cost * d.n_chips >= SNAPSHOT_BLOCKS_MIN_PLACEMENTS and d.unit_cost.any():
        return True
    return by_cost > BY_BLOCKS_POOL_RATIO * make_pools(d, network.site_class, by_cost=False).n


def _fast(d: ModelData, run: LpRun) -> Solution:
    """The fast formulation on HiGHS: one LP with cost-keyed pools, both stages on it (one-shot
    with ranging, or in a sweep's warm session), or, one-shot on fleets whose sites cost
    differently or that are large (:func:`cost_stage_by_blocks`), :func:`_fast_by_blocks`. Both are
    exact."""
    network = fleet_network(d)
    if run.warm is None and cost_stage_by_blocks(d, network):
        return _fast_by_blocks(d, run, network)
    fm = build_fast(d, network=network)
    lp = _elastic(fm.lp, run.prices)
    run.timings["build"] = time.perf_counter() - run.t0
    t1 = time.perf_counter()
    options = SolveOptions(time_limit=run.time_limit, two_stage=True, ranging=run.warm is None,
                           native=MappingProxyType({**fast_highs_options(lp), **run.highs_options}),
                           cost_stage_native=MappingProxyType(COST_STAGE_OPTIONS))
    result = run.warm.solve(lp, options) if run.warm is not None else HIGHS.solve(lp, options)
    run.timings["solve"] = time.perf_counter() - t1
    sol = Solution(result, lp=lp, counts=_fast_counts(lp, fm), fast_model=fm)
    if result.status.has_solution:
        phase("split pools among sites")
        expand_fast(sol, d, fm, result.x, highs.solve_feasibility)
    return sol


def _fast_counts(lp: LinearProgram, fm: FastModel, **extra) -> dict:
    red = fm.network
    return _counts(lp, site_classes=red.n_classes, market_groups=red.n_groups,
                   group_class_pairs=len(red.pair_group), hub_draws=len(fm.draw_group),
                   placement_pools=fm.pools.n, **extra)


def _fast_by_blocks(d: ModelData, run: LpRun, network: Reduction) -> Solution:
    """Value stage on pools that merge sites whatever their cost (exact: it has no cost), with
    ranging; then the cost stage, exact, by column generation over site blocks
    (:mod:`optimizer.model.costsplit`), started from the value stage's plan split to sites."""
    fm = build_fast(d, by_cost=False, network=network)
    lp = _elastic(fm.lp, run.prices)
    run.timings["build"] = time.perf_counter() - run.t0
    t1 = time.perf_counter()
    options = SolveOptions(time_limit=run.time_limit, ranging=True,
                           native=MappingProxyType({**fast_highs_options(lp), **run.highs_options}))
    result = HIGHS.solve(lp, options)
    run.timings["value_stage"] = time.perf_counter() - t1
    sol = Solution(result, lp=lp, counts=_fast_counts(lp, fm), fast_model=fm)
    if not result.status.has_solution:
        run.timings["solve"] = run.timings["value_stage"]
        return sol
    phase("split pools among sites")
    y0 = site_placement(d, fm, result.x, highs.solve_feasibility, d.unit_cost)     # the cheapest split
    x_site = None
    if result.status == Status.OPTIMAL and d.unit_cost.any():
        t2 = time.perf_counter()
        x_site, counts = _cost_stage_by_blocks(d, fm, lp, result, y0, run, t1)
        run.timings["cost_stage"] = time.perf_counter() - t2
        sol.counts.update(counts)
    run.timings["solve"] = time.perf_counter() - t1
    expand_fast(sol, d, fm, result.x, highs.solve_feasibility, x_site=y0 if x_site is None else x_site)
    return sol


def _cost_stage_by_blocks(d: ModelData, fm: FastModel, lp: LinearProgram, result: SolveResult,
                          y0: np.ndarray, run: LpRun, t1: float) -> tuple[np.ndarray, dict]:
    """Minimize cost with the value at its floor over the sites' own costs; update ``result``
    (plan, cost, or a note when a limit stopped it); return the sites x chips placement and the
    decomposition's counts."""
    blocks = site_blocks(d, fm, lp)
    stage = CostStage(blocks, d.power, d.racks, y0[blocks.sites])
    left = None if run.time_limit is None else max(run.time_limit - (time.perf_counter() - t1), 1e-3)
    cg, counts = block_cost_stage(stage, lp, result, left, run.highs_options)
    if cg.x is None:
        return y0, counts
    n_kept = len(blocks.keep_cols)
    x_site = np.zeros_like(y0)
    x_site[blocks.sites] = stage.placement(cg.x[n_kept:])
    x = np.zeros(lp.num_col)
    x[blocks.keep_cols] = cg.x[:n_kept]
    xb = lp.var_blocks["x"]
    pools = fm.pools
    placed = np.zeros((pools.n, d.n_chips))
    np.add.at(placed, pools.pool_of_site[blocks.sites], x_site[blocks.sites])
    x[xb.slice] = placed.ravel()
    result.x, result.objective, result.cost = x, float(lp.c @ x), cg.cost
    return x_site, counts


def block_cost_stage(stage: CostStage, lp: LinearProgram, result: SolveResult, time_limit: float | None,
                     options: Mapping[str, Any]) -> tuple[ColumnGeneration, dict]:
    """The cost stage by column generation on the master of :mod:`optimizer.model.costsplit`
    (``stage.blocks`` of ``lp``, the value stage's LP; solved in the form ``stage.master`` gives),
    priced by ``stage`` and started from the value stage's plan (``result``, whose value sets the
    floor; marked when a limit stopped the loop: then ``x`` is the last master plan, or None);
    with the decomposition's counts. The returned ``x`` is over master_lp's columns, then
    the generated ones (``stage.master_plan``), whether the loop finished or stopped."""
    blocks = stage.blocks
    start = np.concatenate([result.x[blocks.keep_cols], np.ones(blocks.n_blocks)])   # the value stage's plan
    master, start = stage.master(lp, value_floor(result.objective), start)
    cg = highs.column_generation(master, stage.price, GAP_REL, time_limit, dict(options), start=start,
                                 max_entering=stage.master_columns_per_round())
    if cg.x is not None:          # over master_lp's columns (the stage may solve another form of it)
        cg = replace(cg, x=stage.master_plan(cg.x))
    if cg.termination != Termination.OPTIMAL:
        cost_stage_stopped(result, cg.termination)
    return cg, {"cost_blocks": blocks.n_blocks, "cost_stage_rounds": cg.rounds}


def _plain_solution(sol: Solution, d: ModelData) -> Solution:
    lp, x = sol.lp, sol.result.x
    sol.new_units = lp.values(x, "x") * UNIT
    sol.market_pos, sol.site_pos = d.pairs["m"].to_numpy(), d.pairs["s"].to_numpy()
    sol.served = x[lp.var_blocks["f"].slice] * MTPP
    return sol


PLAIN_BACKENDS = {SolverPath.PLAIN: "highs", SolverPath.ORTOOLS_GLOP: "ortools-glop",
                  SolverPath.ORTOOLS_PDLP: "ortools-pdlp"}


def _plain(d: ModelData, run: LpRun) -> Solution:
    """The plain formulation on the path's backend (HiGHS, OR-Tools GLOP or PDLP), both stages."""
    lp = _elastic(build_plain(d), run.prices)
    run.timings["build"] = time.perf_counter() - run.t0
    t1 = time.perf_counter()
    options = SolveOptions(time_limit=run.time_limit, two_stage=True, native=run.highs_options)
    result = backend(PLAIN_BACKENDS[run.path]).solve(lp, options)
    run.timings["solve"] = time.perf_counter() - t1
    sol = Solution(result, lp=lp, counts=_counts(lp, pairs=len(d.pairs)))
    return _plain_solution(sol, d) if result.status.has_solution else sol


def _pulp(d: ModelData, run: LpRun) -> Solution:
    """The algebraic PuLP model on CBC (the independent reference: it builds from the data)."""
    run.timings["build"] = 0.0
    t1 = time.perf_counter()
    from optimizer.solvers.pulp_cbc import solve_pulp  # imported on demand
    result, new_units, served = solve_pulp(d, time_limit=run.time_limit, objective=run.objective)
    run.timings["solve"] = time.perf_counter() - t1     # PuLP builds and solves in one call
    sol = Solution(result, counts={"pairs": len(d.pairs)})
    if result.status.has_solution:
        sol.new_units = new_units
        sol.market_pos = d.scenario.markets.index.get_indexer(served.index.get_level_values("market_id"))
        sol.site_pos = d.scenario.sites.index.get_indexer(served.index.get_level_values("site_id"))
        sol.served = served.to_numpy()
    return sol


AUTO_EXACT_MAX_COLUMNS = 20_000


def integer_choice(method: IntegerMethod | str, mip_solver: MipSolver | str) -> tuple[IntegerMethod, MipSolver]:
    """The method and MIP solver as enums (their values accepted too); InputError otherwise."""
    try:
        method, mip_solver = IntegerMethod(method), MipSolver(mip_solver)
    except ValueError:
        raise InputError(f"--method must be {_one_of(IntegerMethod)} and --solver {_one_of(MipSolver)}; "
                         f"got {method}, {mip_solver}") from None
    if method == IntegerMethod.ROUND and mip_solver != MipSolver.HIGHS:
        raise InputError(f"--solver {mip_solver.value} with --method round: the round method solves its MIPs on "
                         "HiGHS; --solver chooses the exact method's solver (use --method exact, or leave "
                         "--solver out)")
    return method, mip_solver


def _one_of(choices: type[Enum]) -> str:
    """``a, b or c``: an enum's values for a message."""
    *rest, last = [c.value for c in choices]
    return f"{', '.join(rest)} or {last}" if rest else last


def _integer(d: ModelData, options: IntegerOptions, run: LpRun) -> tuple[Solution, dict]:
    """Whole-rack plan; ``auto`` picks exact up to AUTO_EXACT_MAX_COLUMNS integer columns."""
    auto = options.method == IntegerMethod.AUTO
    if auto:
        exact = len(d.open_sites) * d.n_chips <= AUTO_EXACT_MAX_COLUMNS
        options = replace(options, method=IntegerMethod.EXACT if exact else IntegerMethod.ROUND)
    run.timings["build"] = time.perf_counter() - run.t0
    t1 = time.perf_counter()
    sol, info = solve_integer(d, options)
    run.timings["solve"] = time.perf_counter() - t1
    if auto:
        info["notes"] = [*info.get("notes", []), *auto_round_notes(options)]
    return sol, info


LIMIT_WORDS = {Termination.TIME_LIMIT: "the time limit", Termination.ITERATION_LIMIT: "the iteration limit",
               Termination.GAP_LIMIT: "the gap limit"}


def _raise_for_status(sol: Solution, d: ModelData) -> None:
    """Raise for every status without a plan: infeasible (diagnosed, exit 3); no plan,
    unbounded, infeasible-or-unbounded or a solver error (exit 4)."""
    result = sol.result
    status = result.status
    if status == Status.INFEASIBLE_OR_UNBOUNDED:
        status = _disambiguate(sol, d)
    if status == Status.INFEASIBLE:
        lp = sol.lp if sol.lp is not None else build_fast(d).lp
        message, families, limits = diagnose(d, lp)
        raise InfeasibleError(f"infeasible: {message}", families, limits)
    if status == Status.NO_PLAN:
        limit = LIMIT_WORDS.get(result.termination, "a solver limit")
        hint = " or use --method round" if result.solver.endswith("mip") else ""
        raise SolverError(f"{result.solver}: no plan: {limit} was reached before any plan was found; "
                          f"raise --time-limit{hint}", status.value)
    if status == Status.UNBOUNDED:
        raise SolverError(f"{result.solver}: unbounded: the objective has no upper bound (every market's "
                          "demand bounds it, so this is a bug: please report this scenario)", status.value)
    if status == Status.INFEASIBLE_OR_UNBOUNDED:
        raise SolverError(f"{result.solver}: infeasible or unbounded: the solver proved one of the two "
                          "without saying which, and a re-solve did not tell them apart", status.value)
    if not status.has_solution:
        raise SolverError(f"{result.solver}: no plan ({status.value}"
                          f"{': ' + result.message if result.message else ''})", status.value)


def _disambiguate(sol: Solution, d: ModelData) -> Status:
    """Infeasible or unbounded? A bounded objective (the fast model's always is: value sits on
    the served amounts, each capped by its market's demand) cannot be unbounded, so the LP is
    infeasible. Otherwise re-solve without presolve, which tells the two apart."""
    lp = sol.lp if sol.lp is not None and sol.fast_model is not None else build_fast(d).lp
    if lp.objective_bounded():
        return Status.INFEASIBLE
    again = highs.solve_lp(lp, options={"presolve": "off"}, lexicographic=False)
    return again.status if not again.status.has_solution else Status.INFEASIBLE_OR_UNBOUNDED
