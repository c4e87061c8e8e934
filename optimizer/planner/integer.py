"""Rack-granular integer plans: new units per site and sku come in whole racks.

Exact MIP (``method="exact"``): the fast formulation without site merging (merging is exact for
the LP only), with x[c,s] = units_per_rack_c · k[c,s] and k integer, on HiGHS, OR-Tools (SCIP)
or CBC through PuLP. Maximizes value; the bound and gap come from the solver.

Round and repair (``method="round"``, for whole fleets): solve the LP relaxation with the fast
core; for every site and sku the LP places, allow k between floor(r) - 1 and ceil(r) racks (r:
the LP's fractional racks); at every site also allow, of every sku, the racks that fit in the
power and rack space left once the LP's racks are rounded down (whole racks of the LP's skus
leave part of a rack empty where the LP fills a site, and another sku's racks may fill it: on
per-site-tariff fleets of 3,000 sites this takes the gap to the LP bound from 0.027 % to 0.001 %);
fix everything else at zero, and solve that MIP with every limit in it. Shares are ratios of the whole fleet, so rounding one site moves every share's
numerator or denominator: that is why the repair is a MIP over all of them at once, not a
site-by-site rule. The plan is compliant by construction; its gap is measured against the LP
bound (a valid bound for the integer problem). When the neighbourhood holds no plan, the exact
MIP runs instead. A round plan whose gap to the LP bound is above the gap target is ``feasible``
(termination ``gap_limit``), never ``optimal``: the neighbourhood is a heuristic, not a proof.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from optimizer.model.data import MTPP, MUSD, UNIT, ModelData
from optimizer.model.fast import FastModel, build_fast
from optimizer.model.lp import Block, LinearProgram
from optimizer.model.pools import pools_miss_unpowered_room
from optimizer.progress import section
from optimizer.results.solution import Solution, expand_fast, site_placement
from optimizer.solvers import highs
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.registry import backend
from optimizer.solvers.result import LEXICOGRAPHIC_REL_TOL, SolveResult, Status, Termination

DEFAULT_GAP = 1e-4   # relative MIP gap when none is given, the same for every backend


class MipSolver(str, Enum):
    """``--solver``: the exact method's MIP backend."""

    HIGHS = "highs"
    ORTOOLS = "ortools"
    CBC = "cbc"

    @property
    def backend(self) -> str:
        """Its name in the solver registry."""
        return {"highs": "highs", "ortools": "ortools-scip", "cbc": "cbc"}[self.value]


class IntegerMethod(str, Enum):
    """``--method``: the MIP itself, LP round and repair, or ``auto`` (chosen by size, in solve)."""

    EXACT = "exact"
    ROUND = "round"
    AUTO = "auto"


@dataclass(frozen=True)
class IntegerOptions:
    """An integer run: method (exact or round; auto is resolved before), MIP backend, time limit
    in seconds (None: none) and the relative gap target (None: DEFAULT_GAP)."""

    method: IntegerMethod = IntegerMethod.EXACT
    solver: MipSolver = MipSolver.HIGHS
    time_limit: float | None = None
    gap: float | None = None


def rack_scaled(fm: FastModel, d: ModelData) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
    """The LP with x columns counted in racks: returns (lp, integrality, factor), x = factor·k."""
    return in_racks(fm.lp, ["x"], d.scenario.chips["units_per_rack"].to_numpy(float))


def in_racks(lp: LinearProgram, blocks: list[str],
             units_per_rack: np.ndarray) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
    """``lp`` with the placement columns of ``blocks`` (places outer, chips inner, in model units
    of x) counted in racks k, x = factor·k with factor = units_per_rack / UNIT, and marked
    integer. Returns (lp, integrality, factor); factor is 1 on every other column."""
    factor = np.ones(lp.num_col)
    integrality = np.zeros(lp.num_col, dtype=np.int32)
    for name in blocks:
        blk = lp.var_blocks[name]
        factor[blk.slice] = np.tile(units_per_rack / UNIT, blk.size // len(units_per_rack))
        integrality[blk.slice] = 1
    scaled = replace(
        lp, A=(lp.A @ _diag(factor)).tocsr(), c=lp.c * factor, cost=lp.cost * factor,
        col_lo=lp.col_lo / factor, col_hi=lp.col_hi / factor)
    return scaled, integrality, factor


def with_build_decisions(lp: LinearProgram, integrality: np.ndarray, factor: np.ndarray,
                         fm: FastModel, d: ModelData) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
    """Add a binary z_s for each site with ``fixed_cost_usd`` or ``min_new_mw`` (one pool per site):

        Σ_c p_c·x[c,s] - P_s·z_s <= 0,   Σ_c r_c·x[c,s] - R_s·z_s <= 0   (no new units unless built)
        Σ_c p_c·x[c,s] - min_new_mw_s·z_s >= 0                           (if built, at least this much)

    and fixed_cost_usd_s·z_s in the cost; under the margin objective also -annual_fixed_s·z_s in
    the value (``margin_fixed``: the fixed cost as an annuity). P_s, R_s: power and racks left after
    the installed fleet.
    """
    import scipy.sparse as sp
    sites = d.scenario.sites
    first = fm.pools.first_site
    fixed = sites["fixed_cost_usd"].to_numpy(float)[first]
    min_mw = sites["min_new_mw"].to_numpy(float)[first]
    built = np.flatnonzero((fixed > 0) | (min_mw > 0))
    if len(built) == 0:
        return lp, integrality, factor
    n, nz = lp.num_col, len(built)
    power, racks = lp.row_blocks["power"], lp.row_blocks["racks"]
    # z columns: -P in the power row, -R in the rack row of its pool; rows' upper bounds become 0
    rows = np.concatenate([power.start + built, racks.start + built, lp.num_row + np.arange(nz)])
    cols = np.tile(np.arange(nz), 3)
    vals = np.concatenate([-fm.pools.power[built], -fm.pools.racks[built], -min_mw[built]])
    Z = sp.csr_matrix((vals, (rows, cols)), shape=(lp.num_row + nz, nz))
    min_rows = lp.A.tocsr()[power.start + built]          # Σ_c p_c·x[c,s], as in the power rows
    A = sp.hstack([sp.vstack([lp.A, min_rows]), Z]).tocsr()
    row_hi = np.concatenate([lp.row_hi, np.full(nz, np.inf)])
    row_lo = np.concatenate([lp.row_lo, np.zeros(nz)])
    row_hi[power.start + built] = 0.0
    row_hi[racks.start + built] = 0.0
    blocks = dict(lp.var_blocks)
    blocks["z"] = Block("z", n, sites.index[first[built]].rename("site_id"))
    row_blocks = dict(lp.row_blocks)
    row_blocks["min_new_mw"] = Block("min_new_mw", lp.num_row, sites.index[first[built]], "build")
    out = LinearProgram(A=A, c=np.concatenate([lp.c, -d.margin_fixed[first[built]]]),
                        cost=np.concatenate([lp.cost, fixed[built] / MUSD]),
                        col_lo=np.concatenate([lp.col_lo, np.zeros(nz)]), col_hi=np.concatenate([lp.col_hi, np.ones(nz)]),
                        row_lo=row_lo, row_hi=row_hi, var_blocks=blocks, row_blocks=row_blocks,
                        objective_scale=lp.objective_scale, cost_scale=lp.cost_scale, cost_offset=lp.cost_offset)
    return out, np.concatenate([integrality, np.ones(nz, np.int32)]), np.concatenate([factor, np.ones(nz)])


def _diag(v: np.ndarray):
    import scipy.sparse as sp
    return sp.diags(v, format="csc")


def solve_integer(d: ModelData, options: IntegerOptions = IntegerOptions()) -> tuple[Solution, dict]:
    """Whole-rack plan; returns the expanded solution and the ``integer`` summary section."""
    if options.method == IntegerMethod.AUTO:
        raise ValueError("solve_integer takes exact or round: resolve auto first (planner.solve does)")
    options = replace(options, gap=DEFAULT_GAP if options.gap is None else options.gap)
    t0 = time.perf_counter()
    if options.method == IntegerMethod.ROUND:
        sol, info = _round_and_repair(d, options)
    else:
        sol, info = _exact(d, options)
    info["seconds"] = time.perf_counter() - t0
    info["gap_target"] = gap = options.gap
    if options.method == IntegerMethod.ROUND:
        round_status(sol.result, info, gap)
    info["status"], info["termination"] = sol.result.status.value, sol.result.termination.value
    if sol.new_units is not None:
        sol.new_units = sol.new_units.round(6)
    return sol, info


def auto_round_notes(options: IntegerOptions) -> list[str]:
    """The note of a ``--method auto`` run that chose round while --solver names another MIP
    solver than HiGHS (round solves its MIPs on HiGHS: the solver named was not used)."""
    if options.method != IntegerMethod.ROUND or options.solver == MipSolver.HIGHS:
        return []
    return [f"--method auto chose round for this size, whose MIPs run on HiGHS: --solver {options.solver.value} "
            "was not used (--method exact solves on it)"]


def round_status(result: SolveResult, info: dict, gap_target: float) -> None:
    """A round plan is optimal only when its gap to the LP bound is within the target, plus the
    value its cost stage may give up (LEXICOGRAPHIC_REL_TOL; the exact method's plans carry it
    too: at --gap 0 the same one-rack plan was optimal by exact, with gap 1e-7, and feasible by
    round)."""
    if result.status == Status.OPTIMAL and info.get("gap") is not None \
            and info["gap"] > gap_target + LEXICOGRAPHIC_REL_TOL:
        result.status, result.termination = Status.FEASIBLE, Termination.GAP_LIMIT


LP_SIBLING = {"ortools-scip": "ortools-glop"}    # a MIP backend's LP solver, for a MIP with no integer column


def mip_on_backend(lp: LinearProgram, integrality: np.ndarray, options: IntegerOptions) -> SolveResult:
    """The MIP on the options' backend, with the cost stage where the backend has one. With no
    integer column (no site has room for new units) it is an LP, solved as one: no gap to close."""
    if integrality.any():
        mip, gap = backend(options.solver.backend), options.gap
    else:       # SCIP takes MIPs only: its LP sibling in OR-Tools
        mip, gap = backend(LP_SIBLING.get(options.solver.backend, options.solver.backend)), None
    result = mip.solve(lp, SolveOptions(time_limit=options.time_limit, gap=gap,
                                        two_stage=mip.capabilities.two_stage), integrality)
    if options.solver == MipSolver.CBC and integrality.any() and result.status.has_solution:
        return with_exact_flows(lp, integrality, result)
    return result


CBC_FLOWS_NOTE = ("CBC states its solution to 8 significant digits, too few for the service to match the racks "
                  "exactly; this plan's service was re-solved on HiGHS with CBC's whole racks fixed (value, then "
                  "cost)")


def with_exact_flows(lp: LinearProgram, integrality: np.ndarray, result: SolveResult) -> SolveResult:
    """``result`` (a MIP plan read from CBC, whose solution file has 8 significant digits: on a
    generated 200-site fleet a country-total row was off by 5e-4 and a site served 192 TPP more
    than it held) with its continuous columns re-solved for its integer ones, rounded and fixed:
    the LP that is left, on HiGHS (both stages). Its value is CBC's to within that rounding."""
    ints = np.asarray(integrality) > 0
    col_lo, col_hi = lp.col_lo.copy(), lp.col_hi.copy()
    col_lo[ints] = col_hi[ints] = np.round(result.x[ints])
    exact = highs.solve_lp(replace(lp, col_lo=col_lo, col_hi=col_hi))
    if not exact.status.has_solution:       # CBC's racks admit no plan at full precision: none to give
        return SolveResult(Status.NO_PLAN, result.solver, termination=Termination.ERROR,
                           message=f"CBC's whole racks, re-solved on HiGHS at full precision: {exact.status.value} "
                                   "(CBC states 8 significant digits); try --solver highs or ortools")
    result.x, result.objective, result.cost = exact.x, exact.objective, exact.cost
    result.notes += [CBC_FLOWS_NOTE, *exact.notes]      # a stopped cost stage says so (and is feasible)
    if exact.status != Status.OPTIMAL:
        result.status, result.termination = exact.status, exact.termination
    return result


@dataclass(frozen=True)
class Rack:
    """A whole-rack MIP as built from the fast model: the model, the rack-scaled LP, which
    columns are integer, and the factor from racks back to model units (x = factor·k)."""

    fm: FastModel
    lp: LinearProgram
    integrality: np.ndarray
    factor: np.ndarray


def _rack_mip(d: ModelData) -> Rack:
    """The fast formulation without site merging, in racks, with the build decisions."""
    fm = build_fast(d, merge_sites=False)
    return Rack(fm, *with_build_decisions(*rack_scaled(fm, d), fm, d))


def _finish(d: ModelData, mip: Rack, result: SolveResult, info: dict) -> tuple[Solution, dict]:
    """Expand a MIP result to sites and pairs and complete the ``integer`` summary section
    (a backend without a bound, CBC, gets bound and gap None and a note)."""
    fm, lp, factor = mip.fm, mip.lp, mip.factor
    sol = Solution(result, lp=lp, fast_model=fm, counts={"variables": lp.num_col, "rows": lp.num_row,
                                                         "integer_columns": int(fm.pools.n * d.n_chips)})
    if result.status.has_solution:
        x = result.x.copy()
        xb = lp.var_blocks["x"]
        x[xb.slice] = np.round(x[xb.slice])
        expand_fast(sol, d, fm, x * factor, highs.solve_feasibility)
    return sol, bound_and_gap(result, info)


def bound_and_gap(result: SolveResult, info: dict) -> dict:
    """Complete the ``integer`` summary section: status, objective, bound (``bound_model`` when
    the method measured its own, e.g. the LP bound of round, else the solver's) and the relative
    gap |bound - objective| / |bound|; a backend without a bound (CBC) gets None and a note."""
    objective = result.objective * MTPP if result.status.has_solution else None
    bound = info.pop("bound_model", result.bound) * MTPP
    if not np.isfinite(bound):
        bound = None
        if objective is not None:
            info["note"] = f"{result.solver} reports no bound; 'optimal' means within the gap"
    info.update({"status": result.status.value, "objective": objective, "bound": bound,
                 "gap": (abs(bound - objective) / max(abs(bound), 1e-9))
                 if objective is not None and bound is not None else None})
    return info


def _exact(d: ModelData, options: IntegerOptions) -> tuple[Solution, dict]:
    mip = _rack_mip(d)
    result = mip_on_backend(mip.lp, mip.integrality, options)
    return _finish(d, mip, result, {"method": "exact", "solver": options.solver.value})


def _fill_racks(rack_power: np.ndarray, room_power: np.ndarray, room_racks: np.ndarray,
                floor_racks: np.ndarray) -> np.ndarray:
    """Racks of each sku that fit, per place (a site, or a site in a period), in the power and
    rack space that rounding the LP's racks down leaves unused: where the LP fills a site, the
    whole racks of its skus leave part of a rack's capacity empty, and racks of another sku may
    fill it. ``rack_power``: MW per rack of each sku; ``room_*``: what the place has for new
    units. Places x skus."""
    power_left = room_power - floor_racks @ rack_power
    racks_left = room_racks - floor_racks.sum(axis=1)
    draws = rack_power > 0      # a sku drawing no power is held back by racks alone
    by_power = np.full((len(power_left), len(rack_power)), np.inf)
    by_power[:, draws] = power_left[:, None] / rack_power[None, draws]
    fits = np.floor(np.minimum(by_power, racks_left[:, None]) + 1e-9)
    return np.clip(fits, 0.0, None)


def rack_neighbourhood(racks: np.ndarray, rack_power: np.ndarray, room_power: np.ndarray,
                       room_racks: np.ndarray, min_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (lo, hi) on whole racks, places x skus, around the LP's fractional ``racks``:
    floor(r) - 1 .. ceil(r) where the LP places, 0 elsewhere; a place with a build decision
    (``min_mw`` not NaN) may also stay empty (lo 0) or reach its minimum (the racks of a sku that
    make min_mw); every place may also take the racks that fit beside its rounded-down racks
    (:func:`_fill_racks`)."""
    used = racks > 1e-9
    lo = np.where(used, np.maximum(0.0, np.floor(racks + 1e-9) - 1), 0.0)
    hi = np.where(used, np.ceil(racks - 1e-9), 0.0)
    built = ~np.isnan(min_mw)
    need = np.ceil(min_mw[built, None] / np.where(rack_power > 0, rack_power, np.inf)[None, :])
    lo[built] = 0.0
    hi[built] = np.where(used[built], np.maximum(hi[built], need), 0.0)
    return lo, np.maximum(hi, _fill_racks(rack_power, room_power, room_racks, np.floor(racks + 1e-9)))


def _round_and_repair(d: ModelData, options: IntegerOptions) -> tuple[Solution, dict]:
    """LP relaxation (fast core), then the neighbourhood MIP on HiGHS: floor-1..ceil racks of
    what the LP places, and at every site the racks of any sku that fit beside its rounded-down
    racks (:func:`_fill_racks`)."""
    time_limit = options.time_limit
    t0 = time.perf_counter()
    # merged pools leave out a site with racks but no power, where a chip drawing no power fits
    relaxed = build_fast(d, merge_sites=not pools_miss_unpowered_room(d))
    with section("LP relaxation"):
        lp_result = highs.solve_lp(relaxed.lp, lexicographic=False,
                                   options={"solver": "ipm"} if relaxed.lp.num_col >= 20_000 else None)
    lp_seconds = time.perf_counter() - t0
    if lp_result.status != Status.OPTIMAL:     # no LP bound to round from
        if lp_result.status.has_solution:
            lp_result.status = Status.NO_PLAN
        return Solution(lp_result), {"method": "round", "solver": "highs", "status": lp_result.status.value}
    x_site = site_placement(d, relaxed, lp_result.x, highs.solve_feasibility)
    mip = _rack_mip(d)
    fm, lp, integrality = mip.fm, mip.lp, mip.integrality
    xb = lp.var_blocks["x"]
    upr = d.scenario.chips["units_per_rack"].to_numpy(float) / UNIT
    racks = x_site[fm.pools.first_site] / upr[None, :]             # LP racks per (pool=site, sku)
    min_mw = np.full(fm.pools.n, np.nan)
    if "z" in lp.var_blocks:    # a site with a build decision may also stay empty or reach its minimum
        pools_z = np.flatnonzero(np.isin(fm.pools.first_site, d.scenario.sites.index.get_indexer(lp.var_blocks["z"].index)))
        min_mw[pools_z] = d.scenario.sites["min_new_mw"].to_numpy(float)[fm.pools.first_site[pools_z]]
    lo, hi = rack_neighbourhood(racks, d.power * upr, fm.pools.power, fm.pools.racks, min_mw)
    lo, hi = lo.ravel(), hi.ravel()
    col_lo, col_hi = lp.col_lo.copy(), lp.col_hi.copy()
    col_lo[xb.slice], col_hi[xb.slice] = lo, np.minimum(hi, col_hi[xb.slice])
    restricted = replace(lp, col_lo=col_lo, col_hi=col_hi)
    remaining = None if time_limit is None else max(1.0, time_limit - lp_seconds)
    on_highs = replace(options, solver=MipSolver.HIGHS, time_limit=remaining)
    with section("repair"):
        result = mip_on_backend(restricted, integrality, on_highs)
    info = {"method": "round", "solver": "highs", "lp_seconds": lp_seconds,
            "bound_model": lp_result.objective, "neighbourhood_columns": int((hi > lo).sum())}
    if time_limit is not None and time_limit < lp_seconds + 1.0:
        info["notes"] = [f"--time-limit {time_limit:g} s: the round method solves its LP relaxation without "
                         f"a limit ({lp_seconds:.2f} s), then gives its repair MIP at least 1 s"]
    if not result.status.has_solution:
        empty = result.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
        info["method"] = f"round (neighbourhood {'empty' if empty else result.status.value}) -> exact"
        result = mip_on_backend(lp, integrality, on_highs)
        info["bound_model"] = min(lp_result.objective, result.bound) if result.status.has_solution else lp_result.objective
    return _finish(d, mip, result, info)
