"""Whole-rack multi-period plans: the multi-period model in racks, with the build decisions of
sites.csv placed in time. It is built on the fast multi-period formulation without site merging
(:mod:`optimizer.model.fast_periods`, ``merge_sites=False``: one place per site, the service
network reduced exactly, which holds for any placement, so for whole racks too; merging sites is
exact for the LP only), or on the plain one (:mod:`optimizer.model.periods`); both give the same
optimum (tested). Below, "site" is a place of either layout.

Variables: the new stock n[c,s,t] = units_per_rack_c·k[c,s,t] with k integer, so the stock is
whole racks at the end of every period and every period adds whole racks (k_t - k_{t-1} is an
integer; the stock rows keep it from falling). For each site s with ``fixed_cost_usd`` or
``min_new_mw`` a binary z[s,t] per period: s is built (gets its first new units) in t::

    Σ_t z[s,t] <= 1                                                build once      build_once
    Σ_c p_c·n[c,s,t] - P_s,t·Σ_{τ<=t} z[s,τ] <= 0                  power@t row of s (no new
    Σ_c r_c·n[c,s,t] - R_s,t·Σ_{τ<=t} z[s,τ] <= 0                  racks@t row of s  stock before)
    Σ_c p_c·n[c,s,t] - min_new_mw_s·z[s,t] >= 0                    min_new_mw@t

P_s,t, R_s,t: the power and racks s has for new units in t (capacity.csv less the installed
base). With z[s,t] = 1 no earlier z is 1, so s holds no new stock before t, n[·,s,t] is its
first addition, and the last row makes that addition at least min_new_mw (later additions may be
any number of whole racks). The cost stage pays disc_t·fixed_cost_usd_s·z[s,t]: once, in the
period the site is built. The value stage is the multi-period value (the serve objective).

Methods as for a snapshot (:mod:`optimizer.planner.integer`): ``exact`` is this MIP on HiGHS,
OR-Tools (SCIP) or CBC; ``round`` takes the LP relaxation's stock (the fast multi-period path,
exact), allows floor(r) - 1 .. ceil(r) racks of every (site, sku, period) it places plus the
racks that fit beside its rounded-down racks, fixes the rest at zero, and solves that MIP on
HiGHS (the exact MIP when it holds no plan). Its gap is measured against the LP bound (the
relaxation drops whole racks and the build decisions, so its value is an upper bound), and the
plan is ``optimal`` only within the gap target.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.model.data import MUSD, UNIT
from optimizer.model.fast_periods import FastTimelineModel, build_fast_timeline
from optimizer.model.lp import Block, LinearProgram
from optimizer.model.periods import TimelineData, build_plain_timeline
from optimizer.planner.integer import (
    DEFAULT_GAP,
    IntegerMethod,
    IntegerOptions,
    MipSolver,
    bound_and_gap,
    in_racks,
    mip_on_backend,
    rack_neighbourhood,
    round_status,
)
from optimizer.progress import section
from optimizer.solvers.result import SolveResult, Status

# the LP relaxation for the round method: its result (objective = the LP bound) and each
# period's new stock per (site_id, sku) in units
Relaxation = Callable[[], tuple[SolveResult, list[pd.Series] | None]]


@dataclass(frozen=True)
class TimelineMip:
    """The whole-rack multi-period MIP: the rack-scaled LP with its build decisions, which
    columns are integer, the factor from racks back to model units (x = factor·k), the placement
    blocks (one per period, places outer and chips inner), the site position of each place,
    each place's power (MW) and racks for new units per period (T x places), and the fast model
    it was built on (None: the plain one)."""

    lp: LinearProgram
    integrality: np.ndarray
    factor: np.ndarray
    blocks: tuple[str, ...]
    place_site: np.ndarray
    room_power: np.ndarray
    room_racks: np.ndarray
    fast: FastTimelineModel | None

    def place_index(self, td: TimelineData) -> pd.MultiIndex:
        """(site_id, sku) of each column of a placement block."""
        s = td.first.scenario
        C = len(s.chips)
        return pd.MultiIndex.from_arrays([s.sites.index[np.repeat(self.place_site, C)],
                                          np.tile(s.chips.index, len(self.place_site))], names=["site_id", "sku"])


def build_timeline_mip(td: TimelineData, fast: bool = True) -> TimelineMip:
    """The multi-period LP (fast without site merging, or plain) with the build decisions, in
    racks (see the module docstring)."""
    blocks = tuple("x" + p.tag for p in td.periods)
    fm = build_fast_timeline(td, merge_sites=False) if fast else None
    lp = fm.fast.lp if fm is not None else build_plain_timeline(td)
    place_site = fm.pools[-1].first_site if fm is not None else td.sites
    room = {name: finite_room(np.array([lp.row_hi[lp.row_blocks[name + p.tag].slice] for p in td.periods]).clip(0.0))
            for name in ("power", "racks")}       # the power and rack rows of a place: Σ_c coef·x <= room
    lp = with_timeline_build_decisions(lp, td, place_site, room["power"], room["racks"])
    scaled, integrality, factor = in_racks(lp, list(blocks), td.first.scenario.chips["units_per_rack"].to_numpy(float))
    if "z" in lp.var_blocks:
        integrality[lp.var_blocks["z"].slice] = 1
    return TimelineMip(scaled, integrality, factor, blocks, place_site, room["power"], room["racks"], fm)


def finite_room(room: np.ndarray) -> np.ndarray:
    """``room`` (T x places) with each infinite entry, a row the fast model leaves open because a
    later period's row bounds the same never-falling stock, replaced by the next finite room of
    that place: still a valid bound on the stock in that period (x_t <= x_t' <= room_t'), and a
    finite big-M for the build rows (-room·z with room = inf is no coefficient a solver reads:
    CBC refused the model). A place with no finite row at all keeps inf (never seen: the last
    period's rows are kept)."""
    out = room.copy()
    for t in range(len(out) - 2, -1, -1):
        out[t] = np.where(np.isfinite(out[t]), out[t], out[t + 1])
    return out


def decision_places(td: TimelineData, place_site: np.ndarray) -> np.ndarray:
    """Positions (among the places) of the sites with fixed_cost_usd or min_new_mw."""
    sites = td.first.scenario.sites.iloc[place_site]
    return np.flatnonzero((sites["fixed_cost_usd"].to_numpy(float) > 0) | (sites["min_new_mw"].to_numpy(float) > 0))


def with_timeline_build_decisions(lp: LinearProgram, td: TimelineData, place_site: np.ndarray,
                                  room_power: np.ndarray, room_racks: np.ndarray) -> LinearProgram:
    """``lp`` with z[s,t] and its rows for every decision site (``room_*``: T x places, what the
    power and rack rows of each place allow)."""
    local = decision_places(td, place_site)
    nz, T = len(local), len(td.periods)
    if nz == 0:
        return lp
    sites = td.first.scenario.sites.iloc[place_site[local]]
    fixed, min_mw = sites["fixed_cost_usd"].to_numpy(float), sites["min_new_mw"].to_numpy(float)
    n, m = lp.num_col, lp.num_row
    z_col = lambda t: n + t * nz + np.arange(nz)                       # z[·,t]
    rows, cols, vals = [], [], []
    row_hi = lp.row_hi.copy()
    for t, p in enumerate(td.periods):
        for name, room in (("power", room_power[t, local]), ("racks", room_racks[t, local])):
            r = lp.row_blocks[name + p.tag].start + local              # -room_t·z[s,τ] for every τ <= t
            for tau in range(t + 1):
                rows.append(r), cols.append(z_col(tau)), vals.append(-room)
            row_hi[r] = 0.0
    min_rows = sp.vstack([lp.A[lp.row_blocks["power" + p.tag].start + local] for p in td.periods])
    first_min, first_once = m, m + T * nz
    rows += [first_min + np.arange(T * nz), first_once + np.tile(np.arange(nz), T)]
    cols += [n + np.arange(T * nz)] * 2
    vals += [-np.tile(min_mw, T), np.ones(T * nz)]
    Z = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols) - n)),
                      shape=(m + T * nz + nz, T * nz))
    A = sp.hstack([sp.vstack([lp.A, min_rows, sp.csr_matrix((nz, n))]), Z]).tocsr()
    ids = td.first.scenario.sites.index[place_site[local]]
    z_index = pd.MultiIndex.from_product([[p.id for p in td.periods], ids], names=["period", "site_id"])
    discount = np.repeat([p.discount for p in td.periods], nz)
    var_blocks = {**lp.var_blocks, "z": Block("z", n, z_index)}
    row_blocks = {**lp.row_blocks, "min_new_mw": Block("min_new_mw", first_min, z_index, "build"),
                  "build_once": Block("build_once", first_once, ids, "build")}
    return LinearProgram(
        A=A, c=np.concatenate([lp.c, np.zeros(T * nz)]),
        cost=np.concatenate([lp.cost, discount * np.tile(fixed, T) / MUSD]),
        col_lo=np.concatenate([lp.col_lo, np.zeros(T * nz)]), col_hi=np.concatenate([lp.col_hi, np.ones(T * nz)]),
        row_lo=np.concatenate([lp.row_lo, np.zeros(T * nz), np.full(nz, -np.inf)]),
        row_hi=np.concatenate([row_hi, np.full(T * nz, np.inf), np.ones(nz)]),
        var_blocks=var_blocks, row_blocks=row_blocks, objective_scale=lp.objective_scale,
        cost_scale=lp.cost_scale, cost_offset=lp.cost_offset)


def solve_timeline_integer(td: TimelineData, options: IntegerOptions, relax: Relaxation,
                           fast: bool = True) -> tuple[SolveResult, TimelineMip, dict]:
    """Whole-rack multi-period plan by ``options.method`` (exact or round; ``relax`` gives the
    LP relaxation the round method starts from) on the fast formulation without site merging
    (``fast``) or the plain one. Returns the result with x in model units of the MIP's LP (the
    formulation's blocks plus z; racks rounded to whole numbers; no duals: an integer plan has no
    prices), the MIP, and the ``integer`` summary section."""
    if options.method == IntegerMethod.AUTO:
        raise ValueError("solve_timeline_integer takes exact or round: resolve auto first")
    options = replace(options, gap=DEFAULT_GAP if options.gap is None else options.gap)
    t0 = time.perf_counter()
    mip = build_timeline_mip(td, fast)
    if options.method == IntegerMethod.ROUND:
        result, info = _round_and_repair(td, mip, options, relax)
    else:
        result = mip_on_backend(mip.lp, mip.integrality, options)
        info = {"method": "exact", "solver": options.solver.value}
    if result.status.has_solution:
        x = result.x.copy()
        for name in mip.blocks:
            blk = mip.lp.var_blocks[name]
            x[blk.slice] = np.round(x[blk.slice])
        result.x = x * mip.factor
    result.row_duals = result.col_duals = None
    bound_and_gap(result, info)
    info["seconds"] = time.perf_counter() - t0
    info["gap_target"] = options.gap
    info["integer_columns"] = int(sum(mip.lp.var_blocks[b].size for b in mip.blocks))
    info["formulation"] = "fast" if fast else "plain"
    if options.method == IntegerMethod.ROUND:
        round_status(result, info, options.gap)
    info["status"], info["termination"] = result.status.value, result.termination.value
    return result, mip, info


def _round_and_repair(td: TimelineData, mip: TimelineMip, options: IntegerOptions,
                      relax: Relaxation) -> tuple[SolveResult, dict]:
    """The LP relaxation, then the neighbourhood MIP on HiGHS around its stock
    (:func:`optimizer.planner.integer.rack_neighbourhood`, period by period); the exact MIP when
    the neighbourhood holds no plan."""
    t0 = time.perf_counter()
    with section("LP relaxation"):
        relaxed, stocks = relax()
    lp_seconds = time.perf_counter() - t0
    if relaxed.status != Status.OPTIMAL or stocks is None:     # no LP bound to round from
        status = Status.NO_PLAN if relaxed.status.has_solution else relaxed.status
        return SolveResult(status, "highs", termination=relaxed.termination, message=relaxed.message), \
            {"method": "round", "solver": "highs"}
    restricted = replace(mip.lp, **dict(zip(("col_lo", "col_hi"), _neighbourhood(td, mip, stocks))))
    remaining = None if options.time_limit is None else max(1.0, options.time_limit - lp_seconds)
    on_highs = replace(options, solver=MipSolver.HIGHS, time_limit=remaining)
    with section("repair"):
        result = mip_on_backend(restricted, mip.integrality, on_highs)
    info = {"method": "round", "solver": "highs", "lp_seconds": lp_seconds, "bound_model": relaxed.objective}
    if not result.status.has_solution:
        empty = result.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
        info["method"] = f"round (neighbourhood {'empty' if empty else result.status.value}) -> exact"
        result = mip_on_backend(mip.lp, mip.integrality, on_highs)
        if result.status.has_solution:
            info["bound_model"] = min(relaxed.objective, result.bound)
    return result, info


def _neighbourhood(td: TimelineData, mip: TimelineMip, stocks: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds of the repair MIP: in every period, the racks of
    :func:`optimizer.planner.integer.rack_neighbourhood` around the relaxation's stock at each
    site (sites with a build decision may stay empty or reach their minimum)."""
    lp = mip.lp
    upr = td.first.scenario.chips["units_per_rack"].to_numpy(float)
    places = len(mip.place_site)
    min_mw = np.full(places, np.nan)
    local = decision_places(td, mip.place_site)
    min_mw[local] = td.first.scenario.sites["min_new_mw"].to_numpy(float)[mip.place_site[local]]
    index = mip.place_index(td)
    col_lo, col_hi = lp.col_lo.copy(), lp.col_hi.copy()
    for t, (p, name, stock) in enumerate(zip(td.periods, mip.blocks, stocks)):
        blk = lp.var_blocks[name]
        racks = (stock.reindex(index).fillna(0.0).to_numpy(float) / np.tile(upr, places)).reshape(places, len(upr))
        lo, hi = rack_neighbourhood(racks, p.d.power * upr / UNIT, mip.room_power[t], mip.room_racks[t], min_mw)
        col_lo[blk.slice] = lo.ravel()
        col_hi[blk.slice] = np.minimum(hi.ravel(), col_hi[blk.slice])
    return col_lo, col_hi
