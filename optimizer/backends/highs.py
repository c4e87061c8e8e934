"""HiGHS through highspy: the LinearProgram's arrays passed whole, in memory.

Two stages: maximize value; then add the row ``c·v >= optimum - 1e-7·|optimum|`` and minimize
cost, warm-started from the first stage's basis.
"""
from __future__ import annotations

import time

import highspy
import numpy as np

from ..errors import SolverError
from ..lp import LinearProgram
from ..result import SolveResult, Status, value_floor

INF = highspy.kHighsInf
_STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Status.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kIterationLimit: Status.TIME_LIMIT_NO_SOLUTION,
}


def make_highs(options: dict | None = None) -> highspy.Highs:
    """A silent HiGHS instance with options set (each option's return code checked)."""
    h = _new_highs()
    for key, value in {"output_flag": False, **(options or {})}.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS rejected option {key}={value!r}")
    return h


def _new_highs() -> highspy.Highs:
    """A Highs object that does not print its banner: highspy.Highs() enables callbacks, which
    logs the banner before any option can be set (HiGHS issues #1702, #2749); the core class
    has the same solver methods without that side effect."""
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    return core() if core is not None else highspy.Highs()


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
             cost_stage_options: dict | None = None) -> SolveResult:
    """Solve ``lp`` on HiGHS: value first, then cost among value-optimal plans."""
    opts = dict(options or {})
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    h = make_highs(opts)
    t0 = time.perf_counter()
    pass_lp(h, lp)
    h.run()
    status = status_of(h)
    seconds = {"value_stage": time.perf_counter() - t0}
    if not status.has_solution:
        return SolveResult(status, "highs", message=h.modelStatusToString(h.getModelStatus()),
                           seconds=seconds)
    sol = h.getSolution()
    x, duals, reduced = np.array(sol.col_value), np.array(sol.row_dual), np.array(sol.col_dual)
    objective = h.getInfo().objective_function_value
    cost = float(lp.cost @ x)
    if lexicographic and status == Status.OPTIMAL and np.any(lp.cost):
        t1 = time.perf_counter()
        for key, value in (cost_stage_options or {}).items():
            h.setOptionValue(key, value)
        x, cost = _cost_stage(h, lp, objective, x, cost)
        seconds["cost_stage"] = time.perf_counter() - t1
    return SolveResult(status, "highs", x=x, row_duals=duals, col_duals=reduced, objective=float(lp.c @ x),
                       bound=objective, cost=cost, seconds=seconds)


def _cost_stage(h: highspy.Highs, lp: LinearProgram, optimum: float, x: np.ndarray,
                cost: float) -> tuple[np.ndarray, float]:
    """Minimize cost subject to value >= optimum (less 1e-7 relative), from the current basis."""
    nz = np.flatnonzero(lp.c)
    h.addRow(value_floor(optimum), INF, len(nz), nz.astype(np.int32), lp.c[nz].astype(np.float64))
    cols = np.arange(lp.num_col, dtype=np.int32)
    h.changeColsCost(lp.num_col, cols, lp.cost.astype(np.float64))
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.run()
    if status_of(h) != Status.OPTIMAL:
        return x, cost
    x2 = np.array(h.getSolution().col_value)
    return x2, float(lp.cost @ x2)


def status_of(h: highspy.Highs) -> Status:
    model_status = h.getModelStatus()
    status = _STATUS.get(model_status, Status.ERROR)
    if status == Status.TIME_LIMIT_NO_SOLUTION and h.getInfo().primal_solution_status == 2:
        return Status.TIME_LIMIT_FEASIBLE
    return status


def solve_mip(lp: LinearProgram, integrality: np.ndarray, time_limit: float | None = None,
              gap: float | None = None, options: dict | None = None) -> SolveResult:
    """Maximize value over a MIP (integrality 1 = integer column); no cost stage.

    Status: OPTIMAL when solved to the relative gap, TIME_LIMIT_FEASIBLE with the incumbent when
    stopped by the time limit, TIME_LIMIT_NO_SOLUTION when none was found in time.
    """
    opts = {**(options or {})}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    if gap is not None:
        opts["mip_rel_gap"] = float(gap)
    h = make_highs(opts)
    t0 = time.perf_counter()
    pass_lp(h, lp, integrality=integrality)
    h.run()
    seconds = {"mip": time.perf_counter() - t0}
    status = status_of(h)
    info = h.getInfo()
    if status == Status.TIME_LIMIT_NO_SOLUTION and info.primal_solution_status == 2:
        status = Status.TIME_LIMIT_FEASIBLE
    if not status.has_solution:
        return SolveResult(status, "highs-mip", message=h.modelStatusToString(h.getModelStatus()), seconds=seconds)
    x = np.array(h.getSolution().col_value)
    return SolveResult(status, "highs-mip", x=x, objective=float(lp.c @ x), bound=float(info.mip_dual_bound),
                       cost=float(lp.cost @ x), seconds=seconds)


def solve_feasibility(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_col: int,
                      row_lo: np.ndarray, row_hi: np.ndarray) -> np.ndarray:
    """A point y >= 0 with row_lo <= A y <= row_hi (zero objective); raises if none."""
    import scipy.sparse as sp  # noqa: PLC0415
    A = sp.csc_matrix((vals, (rows, cols)), shape=(len(row_lo), n_col))
    h = make_highs()
    status = h.passModel(n_col, len(row_lo), A.nnz, 1, 1, 0.0, np.zeros(n_col), np.zeros(n_col),
                         np.full(n_col, INF), fin(row_lo), fin(row_hi), A.indptr.astype(np.int32),
                         A.indices.astype(np.int32), A.data.astype(np.float64), np.zeros(n_col, np.int32))
    h.run()
    if status_of(h) != Status.OPTIMAL:
        raise SolverError(f"HiGHS: splitting pooled placements among their sites failed "
                          f"({h.modelStatusToString(h.getModelStatus())}); please report this scenario")
    return np.maximum(np.array(h.getSolution().col_value), 0.0)
