"""HiGHS through highspy: the LinearProgram's arrays passed whole, in memory.

Two stages: maximize value; then add the row ``c·v >= optimum - 1e-7·|optimum|`` and minimize
cost, warm-started from the first stage's basis.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from typing import Iterator

import highspy
import numpy as np
import scipy.sparse as sp

from optimizer.errors import SolverError
from optimizer.model.lp import LinearProgram
from optimizer.progress import (
    deferred_interrupt,
    interrupt_requested,
    interrupting,
    log_stream,
    phase,
    write_log,
)
from optimizer.solvers.contract import Capabilities, SolveOptions, UnsupportedOption, is_mip, refuse_unsupported
from optimizer.solvers.result import (
    Ranging,
    SolveResult,
    Status,
    Termination,
    cost_stage_stopped,
    status_for,
    value_floor,
)

INF = highspy.kHighsInf
_MS = highspy.HighsModelStatus
# HiGHS model status -> why it stopped; anything not listed (load, model, presolve, solve or
# postsolve errors, unknown, not set) is an error. A MIP's kOptimal means "within mip_rel_gap".
HIGHS_TERMINATION = {
    _MS.kOptimal: Termination.OPTIMAL,
    _MS.kModelEmpty: Termination.OPTIMAL,
    _MS.kInfeasible: Termination.INFEASIBLE,
    _MS.kUnbounded: Termination.UNBOUNDED,
    _MS.kUnboundedOrInfeasible: Termination.INFEASIBLE_OR_UNBOUNDED,
    _MS.kTimeLimit: Termination.TIME_LIMIT,
    _MS.kIterationLimit: Termination.ITERATION_LIMIT,
    _MS.kObjectiveBound: Termination.OTHER_LIMIT,
    _MS.kObjectiveTarget: Termination.OTHER_LIMIT,
    _MS.kSolutionLimit: Termination.OTHER_LIMIT,
    _MS.kInterrupt: Termination.OTHER_LIMIT,
    _MS.kHighsInterrupt: Termination.OTHER_LIMIT,
    _MS.kMemoryLimit: Termination.OTHER_LIMIT,
}
FEASIBLE_POINT = 2   # HiGHS solution status: a feasible primal point is held


_CB = highspy.cb.HighsCallbackType
INTERRUPT_CALLBACKS = (_CB.kCallbackSimplexInterrupt, _CB.kCallbackIpmInterrupt, _CB.kCallbackMipInterrupt)


def make_highs(options: dict | None = None) -> highspy.Highs:
    """A HiGHS instance with options set (each option's return code checked) that Ctrl-C can
    stop (:func:`run`); silent, or logging to the active solver log
    (:func:`optimizer.progress.solver_log`) but never to the console."""
    if options and "threads" in options:
        _use_threads(int(options["threads"]))
    h = _new_highs()
    logging = log_stream() is not None
    for key, value in {"output_flag": logging, "log_to_console": False, **(options or {})}.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS rejected option {key}={value!r}")
    h.setCallback(_callback, None)
    for kind in INTERRUPT_CALLBACKS + ((_CB.kCallbackLogging,) if logging else ()):
        h.startCallback(kind)
    return h


def _callback(kind: int, message: str, data_out, data_in, user_data) -> None:
    """HiGHS's callback: a log line goes to the solver log; at an iteration, a pending Ctrl-C
    asks HiGHS to stop (it returns at once with status 'interrupted by user')."""
    if kind == _CB.kCallbackLogging:
        write_log(message)
    elif interrupt_requested():
        data_in.user_interrupt = True


def run(h: highspy.Highs) -> None:
    """``h.run()``, stopped at HiGHS's next iteration by Ctrl-C, which is raised as
    KeyboardInterrupt once HiGHS has returned (see :func:`optimizer.progress.deferred_interrupt`);
    HiGHS polls no Python callback until then (:func:`polls_held`)."""
    with polls_held(h):
        h.run()


# HiGHS's simplex and IPM interrupt callbacks are called at every iteration (IPX: at every poll,
# 71,455 times in the value stage of the 3,000-site per-site fleet over 12 quarters; the master's
# simplex 68,772 times; the crossover of the master's first basis 23,031, left on), each a
# call into Python. Held off, they cost nothing; a watcher thread turns them on as Ctrl-C arrives,
# and HiGHS reads the switch at its next iteration (tested: turned on from another thread
# mid-run, IPX and both simplex methods stopped within a millisecond). Five runs each,
# alternated, of that value stage's stored LP: median 7.57 s held off against 7.89 s on.
POLLED_CALLBACKS = (_CB.kCallbackSimplexInterrupt, _CB.kCallbackIpmInterrupt)


@contextlib.contextmanager
def polls_held(h: highspy.Highs) -> Iterator[None]:
    """The block (a run of ``h``: highspy's run() releases the GIL, its crossover() does not, so
    :func:`crossover_from` keeps the callbacks on) under :func:`deferred_interrupt`, with
    HiGHS's per-iteration interrupt callbacks (POLLED_CALLBACKS) off until Ctrl-C arrives: a
    watcher thread (:func:`optimizer.progress.interrupting`) then turns them on and the next
    iteration stops HiGHS. On again after the block (as :func:`make_highs` leaves them)."""
    interrupt_polls(h, False)
    try:
        with deferred_interrupt(), interrupting(lambda: interrupt_polls(h, True)):
            yield
    finally:
        interrupt_polls(h, True)


def interrupt_polls(h: highspy.Highs, on: bool) -> None:
    """Start (or stop) HiGHS's per-iteration interrupt callbacks on ``h`` (POLLED_CALLBACKS; the
    MIP's, polled per node, stays on); safe while ``h`` runs in another thread (HiGHS reads one
    flag per iteration)."""
    for kind in POLLED_CALLBACKS:
        (h.startCallback if on else h.stopCallback)(kind)


def crossover_from(h: highspy.Highs, col_value: np.ndarray) -> None:
    """Let HiGHS find a basis from the primal point ``col_value`` of its model (its crossover; a
    warning or failure leaves HiGHS to start as it would). HiGHS 1.16's crossover crashes the
    process (segmentation fault) when HiGHS's global task scheduler has not been started: before
    the first run() of the process, or after :func:`_use_threads` reset it. So an empty model is
    run first, on the thread count ``h`` will use, which starts the scheduler (a no-op when it runs)."""
    probe = _new_highs()
    probe.setOptionValue("output_flag", False)
    threads = h.getOptionValue("threads")          # (status, value) in highspy 1.16
    probe.setOptionValue("threads", threads[1] if isinstance(threads, tuple) else threads)
    probe.run()
    point = highspy.HighsSolution()
    point.col_value = list(np.asarray(col_value, np.float64))
    point.value_valid = True
    with deferred_interrupt():        # callbacks on: highspy's crossover() keeps the GIL, so no watcher
        h.crossover(point)            # thread could turn them on (polls_held); the callback runs Python's handler


def set_time_left(h: highspy.Highs, seconds: float) -> None:
    """Let ``h`` run ``seconds`` more. HiGHS compares its time_limit with its run time summed
    over every run() of the instance (HiGHS issue #1477), so a solve that runs several times on
    one instance (column generation, warm sweeps, the MIP's cost stage) sets the limit from
    that clock: setting the seconds left alone stopped a 100,000-site cost stage at about half
    of the time it had."""
    h.setOptionValue("time_limit", float(h.getRunTime() + max(seconds, 0.0)))


def _new_highs() -> highspy.Highs:
    """A Highs object that does not print its banner: highspy.Highs() enables callbacks, which
    logs the banner before any option can be set (HiGHS issues #1702, #2749); the core class
    has the same solver methods without that side effect."""
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    return core() if core is not None else highspy.Highs()


_scheduler_threads: int | None = None     # the last thread count asked for (None: HiGHS's default)


def _use_threads(threads: int) -> None:
    """HiGHS runs on one global scheduler per process, sized by the first solve: a later solve
    that asks for another thread count fails ('no plan: Not Set') unless it is reset first."""
    global _scheduler_threads
    if threads != _scheduler_threads:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads = threads


def thread_options(threads: int) -> dict:
    """HiGHS options for ``threads`` threads: its scheduler's size, and its parallel dual simplex
    when more than one (HiGHS 1.16's interior point, IPX, and its primal simplex are serial, so
    only dual simplex solves can use them; measured in benchmarks/RESULTS-tariffs.md). One thread
    makes reruns byte-identical; more may end at another optimal vertex of a degenerate LP (the
    same objective, another plan)."""
    return {"threads": int(threads), "parallel": "on" if threads > 1 else "off"}


def fin(v: np.ndarray) -> np.ndarray:
    """numpy infinities as HiGHS's infinity."""
    return np.clip(np.asarray(v, np.float64), -INF, INF)


def pass_lp(h: highspy.Highs, lp: LinearProgram, maximize: bool = True,
            integrality: np.ndarray | None = None) -> None:
    """Hand the whole model to HiGHS (column-wise CSC arrays; integrality 1 = integer)."""
    A = lp.A.tocsc()
    status = h.passModel(
        lp.num_col, lp.num_row, A.nnz, 1, -1 if maximize else 1, 0.0,
        lp.c.astype(np.float64), fin(lp.col_lo), fin(lp.col_hi), fin(lp.row_lo), fin(lp.row_hi),
        A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(np.float64),
        np.zeros(lp.num_col, dtype=np.int32) if integrality is None else integrality.astype(np.int32))
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model")


def solve_lp(lp: LinearProgram, time_limit: float | None = None,
             options: dict | None = None, lexicographic: bool = True,
             cost_stage_options: dict | None = None, ranging: bool = False) -> SolveResult:
    """Solve ``lp`` on HiGHS: value first, then cost among value-optimal plans. ``ranging``:
    also range the value stage's right-hand sides (before the cost stage changes the model)."""
    opts = dict(options or {})
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    h = make_highs(opts)
    t0 = time.perf_counter()
    pass_lp(h, lp)
    return two_stage(h, lp, t0, lexicographic, cost_stage_options, ranging).result


@dataclass
class Stages:
    """What :func:`two_stage` leaves behind: the result, and for a warm session the bases of
    both stages and whether the value-floor row was added."""

    result: SolveResult
    value_basis: highspy.HighsBasis | None = None
    cost_basis: highspy.HighsBasis | None = None
    floor_row: bool = False


def two_stage(h: highspy.Highs, lp: LinearProgram, t0: float, lexicographic: bool = True,
              cost_stage_options: dict | None = None, ranging: bool = False,
              cost_basis: highspy.HighsBasis | None = None, keep_bases: bool = False) -> Stages:
    """The value stage on ``h`` (which holds ``lp``, maximizing, its options set), then, when it
    is optimal and ``lp`` has a cost, the cost stage: the value-floor row added, cost minimized
    from the value stage's basis (or from ``cost_basis``). ``keep_bases``: return both stages'
    optimal bases (warm sessions start from them)."""
    phase("value stage")
    run(h)
    status, termination = status_of(h)
    seconds = {"value_stage": time.perf_counter() - t0}
    if not status.has_solution:
        return Stages(SolveResult(status, "highs", message=h.modelStatusToString(h.getModelStatus()),
                                  seconds=seconds, termination=termination))
    stages = Stages(SolveResult(status, "highs"))
    if keep_bases and status == Status.OPTIMAL:
        stages.value_basis = h.getBasis()
    sol = h.getSolution()
    x, duals, reduced = np.array(sol.col_value), np.array(sol.row_dual), np.array(sol.col_dual)
    objective = h.getInfo().objective_function_value
    cost = float(lp.cost @ x)
    ranged = value_ranging(h) if ranging and status == Status.OPTIMAL else None
    stopped = None
    if lexicographic and status == Status.OPTIMAL and np.any(lp.cost):
        t1 = time.perf_counter()
        phase("cost stage")
        for key, value in (cost_stage_options or {}).items():
            h.setOptionValue(key, value)
        x, cost, stopped = _cost_stage(h, lp, objective, x, cost, cost_basis)
        if keep_bases and stopped is None:
            stages.cost_basis = h.getBasis()
        stages.floor_row = True
        seconds["cost_stage"] = time.perf_counter() - t1
    stages.result = SolveResult(status, "highs", x=x, row_duals=duals, col_duals=reduced,
                                objective=float(lp.c @ x), bound=objective if status == Status.OPTIMAL else float("nan"),
                                cost=cost, seconds=seconds, termination=termination, ranging=ranged)
    if stopped is not None:      # value optimal, cost not minimised: say so (feasible + a note)
        cost_stage_stopped(stages.result, stopped)
    return stages


def value_ranging(h: highspy.Highs) -> Ranging | None:
    """Right-hand-side ranging of the optimal basis HiGHS holds (None if HiGHS cannot range)."""
    status, r = h.getRanging()
    if status != highspy.HighsStatus.kOk:
        return None
    col_status = np.array([int(s) for s in h.getBasis().col_status])
    return Ranging(row_dn=np.array(r.row_bound_dn.value_), row_up=np.array(r.row_bound_up.value_),
                   col_dn=np.array(r.col_bound_dn.value_), col_up=np.array(r.col_bound_up.value_),
                   col_at_upper=col_status == int(highspy.HighsBasisStatus.kUpper))


def _cost_stage(h: highspy.Highs, lp: LinearProgram, optimum: float, x: np.ndarray,
                cost: float, basis=None) -> tuple[np.ndarray, float, Termination | None]:
    """Minimize cost subject to value >= optimum (less 1e-7 relative), from the current basis
    (or from ``basis``, a cost-stage basis of a model of the same structure). Returns the plan,
    its cost and, when the cost stage did not finish, its termination (the value-stage plan is
    then kept)."""
    nz = np.flatnonzero(lp.c)
    h.addRow(value_floor(optimum), INF, len(nz), nz.astype(np.int32), lp.c[nz].astype(np.float64))
    cols = np.arange(lp.num_col, dtype=np.int32)
    h.changeColsCost(lp.num_col, cols, lp.cost.astype(np.float64))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    if basis is not None:
        h.setBasis(basis)
    run(h)
    status, termination = status_of(h)
    if status != Status.OPTIMAL:
        return x, cost, termination
    x2 = np.array(h.getSolution().col_value)
    return x2, float(lp.cost @ x2), None


def status_of(h: highspy.Highs) -> tuple[Status, Termination]:
    """The planner's status and the termination of HiGHS's last run (HIGHS_TERMINATION)."""
    termination = HIGHS_TERMINATION.get(h.getModelStatus(), Termination.ERROR)
    has_plan = h.getInfo().primal_solution_status == FEASIBLE_POINT
    return status_for(termination, has_plan), termination


def solve_mip(lp: LinearProgram, integrality: np.ndarray, time_limit: float | None = None,
              gap: float | None = None, options: dict | None = None, lexicographic: bool = True) -> SolveResult:
    """Maximize value over a MIP (integrality 1 = integer column); then, when the value stage
    finished within its gap, minimize cost among plans within 1e-7 of the value found, starting
    from that plan, for at most twice the value stage's time (the cheapest plan found is kept).

    Status: OPTIMAL when solved to the relative gap, FEASIBLE with the incumbent when stopped
    by a limit, NO_PLAN when none was found in time (see :func:`status_of`).
    """
    opts = {**(options or {})}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    if gap is not None:
        opts["mip_rel_gap"] = float(gap)
    h = make_highs(opts)
    t0 = time.perf_counter()
    pass_lp(h, lp, integrality=integrality)
    phase("MIP value stage")
    run(h)
    seconds = {"mip": time.perf_counter() - t0}
    status, termination = status_of(h)
    info = h.getInfo()
    if not status.has_solution:
        return SolveResult(status, "highs-mip", message=h.modelStatusToString(h.getModelStatus()),
                           seconds=seconds, termination=termination)
    x = np.array(h.getSolution().col_value)
    bound = float(info.mip_dual_bound)
    if lexicographic and status == Status.OPTIMAL and np.any(lp.cost):
        t1 = time.perf_counter()
        # the cost stage is a tie-break: give it at most twice the value stage's time (>= 1 s)
        budget = max(1.0, 2.0 * seconds["mip"])
        set_time_left(h, min(budget, opts.get("time_limit", np.inf) - (time.perf_counter() - t0)))
        phase("MIP cost stage")
        x = _mip_cost_stage(h, lp, x)
        seconds["cost_stage"] = time.perf_counter() - t1
    return SolveResult(status, "highs-mip", x=x, objective=float(lp.c @ x), bound=bound,
                       cost=float(lp.cost @ x), seconds=seconds, termination=termination)


def _mip_cost_stage(h: highspy.Highs, lp: LinearProgram, x: np.ndarray) -> np.ndarray:
    """Minimize cost subject to value >= value of ``x`` less 1e-7 relative, from ``x``."""
    nz = np.flatnonzero(lp.c)
    h.addRow(value_floor(float(lp.c @ x)), INF, len(nz), nz.astype(np.int32), lp.c[nz].astype(np.float64))
    h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), lp.cost.astype(np.float64))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    start = highspy.HighsSolution()
    start.col_value = list(x)
    h.setSolution(start)
    run(h)
    if status_of(h)[0].has_solution:
        x2 = np.array(h.getSolution().col_value)
        if lp.c @ x2 >= value_floor(float(lp.c @ x)) - 1e-9 and lp.cost @ x2 <= lp.cost @ x + 1e-12:
            return x2
    return x


def solve_feasibility(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_col: int,
                      row_lo: np.ndarray, row_hi: np.ndarray, cost: np.ndarray | None = None) -> np.ndarray:
    """A point y >= 0 with row_lo <= A y <= row_hi (zero objective), or with ``cost`` the
    cheapest one (minimize cost·y); raises if none."""
    zeros = np.zeros(n_col)
    c = zeros if cost is None else np.asarray(cost, np.float64)
    lp = LinearProgram(A=sp.csr_matrix((vals, (rows, cols)), shape=(len(row_lo), n_col)), c=c,
                       cost=c, col_lo=zeros, col_hi=np.full(n_col, np.inf), row_lo=row_lo, row_hi=row_hi,
                       var_blocks={}, row_blocks={})
    h = make_highs()
    pass_lp(h, lp, maximize=False)
    run(h)
    if status_of(h)[0] != Status.OPTIMAL:
        raise SolverError(f"HiGHS: splitting pooled placements among their sites failed "
                          f"({h.modelStatusToString(h.getModelStatus())}); please report this scenario")
    return np.maximum(np.array(h.getSolution().col_value), 0.0)


@dataclass
class ColumnGeneration:
    """What :func:`column_generation` leaves: the master's last plan (``x``: its columns, the
    generated ones after the master's own, in the order they were priced, zero for those not
    held at the end; a caller that solved another form of its master maps it back), its cost,
    the bound gap when it stopped, the rounds, and the termination (OPTIMAL: the gap closed; a
    limit: ``x`` is the last feasible plan, or None when the first master solve already
    failed)."""

    termination: Termination
    x: np.ndarray | None
    cost: float
    gap: float
    rounds: int


ENTER_MIN, ENTER_ROWS = 30, 40   # per round, max(ENTER_MIN, rows / ENTER_ROWS) master columns let in,
#                                the most negative reduced costs first (measured on per-site fleets:
#                                at 10,000 sites 30 beats 114 by 1.5x; at 30,000, 30 takes 3x the rounds)
ENTER_TOL = 1e-9        # a held-out column enters when its reduced cost is below -ENTER_TOL
DROP_AFTER = 5          # rounds a column sits at zero with a positive reduced cost before it leaves


class HeldColumns:
    """Which columns of a column-generation master HiGHS holds (partial pricing). Ids number the
    master's own columns first, then the generated ones in the order they were priced. A master
    column at zero may be held out: it enters when its reduced cost c_j - a_j·y at the master's
    row duals y is negative (below -ENTER_TOL), a few per round (``max_entering``; by default
    max(ENTER_MIN, rows / ENTER_ROWS)). A held column
    at zero whose reduced cost stayed positive for DROP_AFTER rounds leaves: nonbasic at its lower
    bound, so the basis and the plan stay as they are, and it can come back (a master column by
    the same pricing, a generated one when pricing finds it again). Dropping columns the simplex
    would otherwise price every iteration is where the speed comes from: at 10,000 per-site
    sites, 25,000 flow columns of which ~3,000 are ever used, and ~500 generated per round."""

    def __init__(self, master: LinearProgram, start: np.ndarray | None, max_entering: int | None = None):
        if max_entering is not None and max_entering < 1:
            # the stopping test reads "nothing entered" as "nothing prices in": a cap below 1
            # would end the loop 'optimal' with columns still pricing in
            raise ValueError(f"HeldColumns: max_entering must be at least 1, not {max_entering}")
        self.master = master
        self.max_entering = max(ENTER_MIN, master.num_row // ENTER_ROWS) if max_entering is None else max_entering
        self.A_T = master.A.T.tocsr()            # A^T y for the master's reduced costs
        self.A = master.A.tocsc()
        self.c, self.lo, self.hi = master.c, master.col_lo, master.col_hi
        n = master.num_col
        # held out at first: the start's zero columns (without a start the master is held whole:
        # a part might have no feasible point)
        optional = (master.col_lo == 0) & (np.asarray(start) == 0) if start is not None else np.zeros(n, bool)
        self.ids = np.flatnonzero(~optional)     # HiGHS column k holds id ids[k]
        self.held = ~optional
        self.idle = np.zeros(len(self.ids), dtype=np.int64)
        self.n_ids = n

    def first_master(self) -> LinearProgram:
        """The master restricted to the columns held at the start."""
        k = self.ids
        return replace(self.master, A=self.A[:, k].tocsr(), c=self.c[k], cost=self.c[k], col_lo=self.lo[k],
                       col_hi=self.hi[k], var_blocks={})

    def entering(self, row_duals: np.ndarray) -> np.ndarray:
        """Held-out master columns whose reduced cost is below -ENTER_TOL, most negative first
        (at most :attr:`max_entering`)."""
        reduced = self.c - self.A_T @ row_duals
        out = np.flatnonzero(~self.held & (reduced < -ENTER_TOL))
        return out[np.argsort(reduced[out], kind="stable")[:self.max_entering]]

    def leaving(self, col_value: np.ndarray, col_dual: np.ndarray) -> np.ndarray:
        """HiGHS positions of the held columns to drop (see the class)."""
        # HiGHS reports a basic column's dual as exactly 0: a positive dual marks a nonbasic column
        own = self.ids < len(self.lo)
        at_zero = (col_value == 0) & (col_dual > ENTER_TOL)
        at_zero[own] &= self.lo[self.ids[own]] == 0
        self.idle = np.where(at_zero, self.idle + 1, 0)
        return np.flatnonzero(self.idle >= DROP_AFTER)

    def add(self, h: highspy.Highs, cols: sp.csc_matrix, cost: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            ids: np.ndarray) -> None:
        """Give HiGHS the columns ``ids`` (CSC over the master's rows)."""
        if len(ids) == 0:
            return
        cols = cols.tocsc()
        h.addCols(len(ids), cost.astype(np.float64), fin(lo), fin(hi), cols.nnz, cols.indptr.astype(np.int32),
                  cols.indices.astype(np.int32), cols.data.astype(np.float64))
        self.ids = np.concatenate([self.ids, ids])
        self.idle = np.concatenate([self.idle, np.zeros(len(ids), dtype=np.int64)])
        self.held[ids[ids < len(self.held)]] = True

    def enter(self, h: highspy.Highs, which: np.ndarray) -> None:
        """Let the held-out master columns ``which`` in."""
        self.add(h, self.A[:, which], self.c[which], self.lo[which], self.hi[which], which)

    def generated(self, h: highspy.Highs, cols: sp.csc_matrix, cost: np.ndarray) -> None:
        """Add columns new from pricing (>= 0, no upper bound), numbered after every id so far."""
        k = cols.shape[1]
        self.add(h, cols, cost, np.zeros(k), np.full(k, np.inf), self.n_ids + np.arange(k))
        self.n_ids += k

    def drop(self, h: highspy.Highs, positions: np.ndarray) -> None:
        """Delete the held columns at HiGHS positions ``positions`` (nonbasic at zero: see
        :meth:`leaving`), keeping the id map in step."""
        if len(positions) == 0:
            return
        h.deleteCols(len(positions), positions.astype(np.int32))
        ids = self.ids[positions]
        self.held[ids[ids < len(self.held)]] = False
        keep = np.ones(len(self.ids), dtype=bool)
        keep[positions] = False
        self.ids, self.idle = self.ids[keep], self.idle[keep]

    def full(self, col_value: np.ndarray) -> np.ndarray:
        """The plan over every id (zero where not held)."""
        x = np.zeros(self.n_ids)
        x[self.ids] = col_value
        return x


# The master's method: primal simplex (new columns keep the last basis primal feasible), without
# bound perturbation. HiGHS perturbs the bounds against degeneracy and then spends iterations
# removing the perturbation; on these masters (many convexity rows at 1) that clean-up was most of
# the work. One process each, the same value stage and the same cost (to 3.5e-12): generated
# per-site fleets over 12 quarters, 3,000 sites seed 1 master 58.5 s (84,471 iterations) -> 31.1 s
# (71,042), seed 2 57.1 s (100,759) -> 16.0 s (36,622), 1,000 sites 9.6 s -> 4.7 s; one period,
# 30,000 sites 8.1 s -> 7.1 s, 10,000 sites 0.61 s -> 0.47 s. A 12-quarter master saved at round 45
# and re-solved alone: 2,265 iterations 1.58 s -> 1,071 iterations 0.53 s (multiplier 0.1: 0.90 s;
# steepest edge or Dantzig pricing, dual simplex, no scaling, a shorter update limit: none faster).
# PRICE row-wise with a switch to column-wise when the row gets dense (simplex_price_strategy 2;
# HiGHS's default 3 also switches back): the same iterations, each cheaper. From one stored value
# stage, alternated, the same cost (to 5e-15): per-site 3,000 sites x 12 quarters cost stage
# 17.5-17.8 s -> 15.9-16.3 s (seed 2: 13.3/13.5 -> 12.1/12.2 s), 1,000 sites 5.0/5.2 -> 4.6/4.7 s;
# metro 3,000 x 12 (667 blocks) 7.9/8.2 against 7.8/8.0 s; one period, per-site 10,000 sites
# 0.76/0.77 against 0.79/0.82 s and 30,000 sites 6.0/6.3 against 6.3/6.3 s (both neutral).
# Dual simplex on the 3,000 x 12 master: 211-220 s.
MASTER_SIMPLEX = {"simplex_strategy": 4, "primal_simplex_bound_perturbation_multiplier": 0.0,
                  "simplex_price_strategy": 2}


def column_generation(master: LinearProgram, price, gap_rel: float, time_limit: float | None = None,
                      options: dict | None = None, max_rounds: int = 1000,
                      start: np.ndarray | None = None, max_entering: int | None = None) -> ColumnGeneration:
    """Minimize ``master.c`` by column generation: solve the master (primal simplex, warm from
    the last basis after each round), hand its row duals to ``price``, which returns new columns
    (CSC over the master's rows), their costs and the bound gap (how far the master's cost may
    lie above the optimum); stop when the gap is at most ``gap_rel``·max(1, |cost|) and no master
    column held out prices below -ENTER_TOL (:class:`HeldColumns`: HiGHS holds only the columns
    in use or recently attractive; the optimum is the full master's).
    ``start``: a feasible point of the master, from which crossover finds the first basis (the
    primal simplex then skips its search for a feasible one: 40,000 iterations on 30,000 sites);
    its zero columns start held out. ``max_entering``: held-out master columns let in per round
    (None: :class:`HeldColumns`' default)."""
    t0 = time.perf_counter()
    phase("cost stage")
    cols_held = HeldColumns(master, start, max_entering)
    h = make_highs({**(options or {}), **MASTER_SIMPLEX})
    pass_lp(h, cols_held.first_master(), maximize=False)
    if start is not None:
        crossover_from(h, np.asarray(start, np.float64)[cols_held.ids])
    x, cost, gap = None, float("nan"), float("inf")
    for rounds in range(1, max_rounds + 1):
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            return ColumnGeneration(Termination.TIME_LIMIT, x, cost, gap, rounds - 1)
        run_round(h, left)
        status, termination = status_of(h)
        if status != Status.OPTIMAL:
            return ColumnGeneration(termination if termination != Termination.OPTIMAL else Termination.ERROR,
                                    x, cost, gap, rounds - 1)
        sol = h.getSolution()
        value, duals = np.array(sol.col_value), np.array(sol.row_dual)
        x, cost = cols_held.full(value), h.getInfo().objective_function_value
        cols, col_cost, gap = price(duals)
        entering = cols_held.entering(duals)
        if gap <= gap_rel * max(1.0, abs(cost)) and len(entering) == 0:
            return ColumnGeneration(Termination.OPTIMAL, x, cost, gap, rounds)
        phase(f"cost stage: round {rounds}, bound gap {gap / max(1.0, abs(cost)):.1e}")
        cols_held.drop(h, cols_held.leaving(value, np.array(sol.col_dual)))
        cols_held.enter(h, entering)
        cols_held.generated(h, cols, col_cost)
    return ColumnGeneration(Termination.ITERATION_LIMIT, x, cost, gap, max_rounds)


def run_round(h: highspy.Highs, left: float | None) -> None:
    """One master round (:func:`run_master`) within ``left`` seconds (None: no limit)."""
    if left is None:
        h.setOptionValue("time_limit", INF)
    else:
        set_time_left(h, left)
    run_master(h)


# What a master rerun from its own basis may end with and be believed (see run_master).
RERUN_ACCEPTED = {highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit,
                  highspy.HighsModelStatus.kIterationLimit, highspy.HighsModelStatus.kInterrupt}


def run_master(h: highspy.Highs) -> None:
    """:func:`run` a column generation's master. If HiGHS ends neither solved nor stopped by a
    limit (status 'unknown': a warm primal simplex on a 3,000-site x 12-quarter per-site master
    left primal infeasibilities of 1.7e-7 or 2.2e-7 at a tolerance of 1e-9 and gave up in its
    clean-up), run it again from the basis it ended on, refactorized: there it was optimal in 0
    iterations (0.01 s), where a solve from scratch took 22,047 iterations (8.8 s, a quarter of
    that cost stage). Unless that rerun ends optimal or at a limit (an 'infeasible' there would be
    wrong: the master always holds a feasible point), solve that round's master once more from
    scratch; a third failure is the caller's to report."""
    run(h)
    if h.getModelStatus() in HIGHS_TERMINATION:
        return
    basis = h.getBasis()
    h.clearSolver()
    h.setBasis(basis)
    run(h)
    if h.getModelStatus() not in RERUN_ACCEPTED:
        h.clearSolver()
        run(h)


WARM_OPTIONS = {"solver": "simplex", "simplex_strategy": 1}


class StructureChanged(Exception):
    """The new LP has another shape or sparsity pattern: build a new session."""


class WarmSession:
    """One HiGHS model reused across LPs of the same structure (a sweep): each solve applies only
    the changed bounds, costs and coefficients, and starts from the previous basis."""

    def __init__(self, lp: LinearProgram, options: dict | None = None,
                 cost_stage_options: dict | None = None):
        self.options, self.cost_stage_options = dict(options or {}), dict(cost_stage_options or {})
        self.h = make_highs(self.options)
        pass_lp(self.h, lp)
        self.lp, self.extra_row, self.fresh = lp, False, True
        self.value_basis = self.cost_basis = None
        self._A = lp.A.tocsc()

    def compatible(self, lp: LinearProgram) -> bool:
        A = lp.A.tocsc()
        return (A.shape == self._A.shape and A.nnz == self._A.nnz
                and np.array_equal(A.indptr, self._A.indptr) and np.array_equal(A.indices, self._A.indices))

    def solve(self, lp: LinearProgram) -> SolveResult:
        """Value stage then cost stage, as :func:`solve_lp`, warm-started."""
        if not self.compatible(lp):
            raise StructureChanged
        h, t0 = self.h, time.perf_counter()
        self._reset_objective()
        self._apply_changes(lp)
        if self.value_basis is not None:      # start from the last value stage, not the cost stage
            h.setBasis(self.value_basis)
        # first solve: the method chosen for the size; later ones: dual simplex from the basis
        options = self.options if self.fresh else {**self.options, **WARM_OPTIONS}
        for key, value in options.items():
            if key != "time_limit":
                h.setOptionValue(key, value)
        if "time_limit" in options:          # each variant gets the whole limit, on HiGHS's clock
            set_time_left(h, options["time_limit"])
        self.fresh = False
        stages = two_stage(h, lp, t0, cost_stage_options=self.cost_stage_options,
                           cost_basis=self.cost_basis, keep_bases=True)
        self.value_basis = stages.value_basis
        if stages.floor_row:      # a variant without a cost stage leaves the last cost basis
            self.cost_basis = stages.cost_basis
        self.extra_row = stages.floor_row
        return stages.result

    def _reset_objective(self) -> None:
        """Undo the last cost stage: drop its value-floor row, restore value and maximization."""
        h, lp = self.h, self.lp
        if self.extra_row:
            h.deleteRows(1, np.array([lp.num_row], dtype=np.int32))
            h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), lp.c.astype(np.float64))
            h.changeObjectiveSense(highspy.ObjSense.kMaximize)
            self.extra_row = False

    def _apply_changes(self, lp: LinearProgram) -> None:
        h, old = self.h, self.lp
        cols = np.flatnonzero((lp.col_lo != old.col_lo) | (lp.col_hi != old.col_hi)).astype(np.int32)
        if len(cols):
            h.changeColsBounds(len(cols), cols, fin(lp.col_lo[cols]), fin(lp.col_hi[cols]))
        rows = np.flatnonzero((lp.row_lo != old.row_lo) | (lp.row_hi != old.row_hi)).astype(np.int32)
        if len(rows):
            h.changeRowsBounds(len(rows), rows, fin(lp.row_lo[rows]), fin(lp.row_hi[rows]))
        costs = np.flatnonzero(lp.c != old.c).astype(np.int32)
        if len(costs):
            h.changeColsCost(len(costs), costs, lp.c[costs].astype(np.float64))
        A = lp.A.tocsc()
        changed = np.flatnonzero(A.data != self._A.data)
        if len(changed):
            col_of = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
            for k in changed:
                h.changeCoeff(int(A.indices[k]), int(col_of[k]), float(A.data[k]))
        self.lp, self._A = lp, A


class WarmStart:
    """Keeps a :class:`WarmSession` across solves; starts a new one when the structure changes.
    Also caches what does not change between variants (see :meth:`cached`)."""

    def __init__(self) -> None:
        self.session: WarmSession | None = None
        self.warm_solves = 0
        self.cold_solves = 0
        self._cache: dict = {}

    def cached(self, key, compute):
        """``compute()`` once per ``key`` (one entry kept: sweeps move forward, not back and forth)."""
        if key not in self._cache:
            self._cache = {key: compute()}
        return self._cache[key]

    def solve(self, lp: LinearProgram, options: SolveOptions) -> SolveResult:
        """Both stages, warm-started when ``lp`` has the last one's structure (the options of a
        new session's first solve are those of ``options``; ranging is not available)."""
        if not options.two_stage or options.ranging or options.gap is not None:
            raise UnsupportedOption("a HiGHS warm start runs both stages, without ranging, on LPs")
        if self.session is not None and self.session.compatible(lp):
            self.warm_solves += 1
            return self.session.solve(lp)
        self.cold_solves += 1
        self.session = WarmSession(lp, native_options(options), dict(options.cost_stage_native))
        return self.session.solve(lp)


def native_options(options: SolveOptions) -> dict:
    """The contract's options in HiGHS's names (the MIP gap is set by :func:`solve_mip`)."""
    opts = dict(options.native)
    if options.time_limit is not None:
        opts["time_limit"] = float(options.time_limit)
    return opts


class HighsBackend:
    """HiGHS behind the solver contract: LPs (both stages, duals, ranging, warm starts) and MIPs
    (branch and cut; the cost stage is a time-capped tie-break, see :func:`solve_mip`)."""

    name = "highs"
    capabilities = Capabilities(lp=True, mip=True, duals=True, warm_start=True, two_stage=True,
                                ranging=True, native=True)

    def solve(self, lp: LinearProgram, options: SolveOptions = SolveOptions(),
              integrality: np.ndarray | None = None) -> SolveResult:
        mip = is_mip(integrality)
        refuse_unsupported(self.name, self.capabilities, options, mip)
        if mip:
            return solve_mip(lp, integrality, options.time_limit, options.gap, dict(options.native),
                             options.two_stage)
        return solve_lp(lp, options.time_limit, dict(options.native), options.two_stage,
                        dict(options.cost_stage_native), options.ranging)

    @staticmethod
    def warm_start() -> WarmStart:
        """A session for a sequence of LPs of one structure (sweeps)."""
        return WarmStart()


HIGHS = HighsBackend()
