"""OR-Tools (GLOP simplex or PDLP first-order; SCIP for MIPs) on the same matrices, through
ModelBuilderHelper. Runs inside the OR-Tools child process (:mod:`optimizer.solvers.ortools_process`):
OR-Tools bundles a HiGHS library that cannot share a process with highspy's HiPO build.

Same two stages as the HiGHS backend: maximize value, then add ``c·v >= optimum - 1e-7·|optimum|``
and minimize cost. PDLP runs with tight tolerances so its plans pass the checker.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh

from optimizer.model.lp import LinearProgram
from optimizer.progress import console_to_log, deferred_interrupt, interrupting, log_stream, phase
from optimizer.solvers.result import SolveResult, Status, Termination, status_for, value_floor

_SS = mbh.SolveStatus
# OR-Tools solve status -> why it stopped. FEASIBLE and NOT_SOLVED mean a limit stopped the
# solver with and without a plan; which limit OR-Tools does not say (see ortools_termination).
# INFEASIBLE is not definite: GLOP answers it for an unbounded LP its presolve cannot tell from
# an infeasible one, and SCIP for SCIP_STATUS_INFORUNBD; it becomes "infeasible" only when the
# objective is bounded (ortools_status). ABNORMAL, invalid model or parameters, unknown: error.
ORTOOLS_TERMINATION = {
    _SS.OPTIMAL: Termination.OPTIMAL,
    _SS.INFEASIBLE: Termination.INFEASIBLE_OR_UNBOUNDED,
    _SS.UNBOUNDED: Termination.UNBOUNDED,
    _SS.FEASIBLE: Termination.OTHER_LIMIT,
    _SS.NOT_SOLVED: Termination.OTHER_LIMIT,
    _SS.CANCELLED_BY_USER: Termination.OTHER_LIMIT,
}
PDLP_PARAMS = ("termination_criteria { simple_optimality_criteria { eps_optimal_relative: 1e-9 "
               "eps_optimal_absolute: 1e-9 } }")


def _model(lp: LinearProgram, A: sp.csr_matrix, obj: np.ndarray, row_lo: np.ndarray,
           row_hi: np.ndarray, maximize: bool) -> mbh.ModelBuilderHelper:
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(lp.col_lo, lp.col_hi, obj, row_lo, row_hi, A)
    model.set_maximize(maximize)
    return model


def ortools_termination(solve_status, time_limit: float | None) -> Termination:
    """Why OR-Tools stopped: a limit is reported as the time limit when one was set."""
    termination = ORTOOLS_TERMINATION.get(solve_status, Termination.ERROR)
    if termination == Termination.OTHER_LIMIT and time_limit is not None:
        return Termination.TIME_LIMIT
    return termination


def ortools_status(solve_status, time_limit: float | None = None,
                   bounded: bool = False) -> tuple[Status, Termination]:
    """The planner's status and the termination for an OR-Tools solve status; ``bounded``: the
    objective is bounded (LinearProgram.objective_bounded), so INFEASIBLE means infeasible."""
    termination = ortools_termination(solve_status, time_limit)
    if termination == Termination.INFEASIBLE_OR_UNBOUNDED and bounded:
        termination = Termination.INFEASIBLE
    return status_for(termination, solve_status in (_SS.OPTIMAL, _SS.FEASIBLE)), termination


def _solve(engine, model, phase_name: str) -> None:
    """``engine.solve(model)``, announced as ``phase_name``, its log in the solver log (if any),
    stopped by Ctrl-C from a watcher thread (OR-Tools releases the GIL while it solves)."""
    phase(phase_name)
    engine.enable_output(log_stream() is not None)
    with deferred_interrupt(), interrupting(engine.interrupt_solve), console_to_log():
        engine.solve(model)


def _run(engine, model, name: str, stage: str, time_limit: float | None, bounded: bool):
    """Solve; returns (status, termination, seconds, a failed SolveResult or None)."""
    t0 = time.perf_counter()
    _solve(engine, model, "MIP value stage" if stage == "mip" else stage.replace("_", " "))
    status, termination = ortools_status(engine.status(), time_limit, bounded)
    seconds = {stage: time.perf_counter() - t0}
    failed = None if status.has_solution else SolveResult(status, name, message=engine.status_string(),
                                                          seconds=seconds, termination=termination)
    return status, termination, seconds, failed


def solve_lp(lp: LinearProgram, solver: str = "glop", time_limit: float | None = None,
             lexicographic: bool = True) -> SolveResult:
    """Solve on OR-Tools' ``glop`` or ``pdlp``: value stage, then the cost stage as a new model
    with the value floor appended as a row (ModelBuilderHelper has no warm start)."""
    engine = mbh.ModelSolverHelper(solver)
    if solver == "pdlp":
        engine.set_solver_specific_parameters(PDLP_PARAMS)
    if time_limit is not None:
        engine.set_time_limit_in_seconds(float(time_limit))
    A = lp.A.tocsr()
    status, termination, seconds, failed = _run(
        engine, _model(lp, A, lp.c, lp.row_lo, lp.row_hi, maximize=True), f"ortools-{solver}",
        "value_stage", time_limit, lp.objective_bounded())
    if failed:
        return failed
    name = f"ortools-{solver}"
    x = np.array(engine.variable_values())
    optimum = engine.objective_value()
    duals, reduced = np.array(engine.dual_values()), np.array(engine.reduced_costs())
    if lexicographic and status == Status.OPTIMAL and np.any(lp.cost):
        t1 = time.perf_counter()
        A2 = sp.vstack([A, sp.csr_matrix(lp.c[None, :])]).tocsr()
        _solve(engine, _model(lp, A2, lp.cost, np.append(lp.row_lo, value_floor(optimum)),
                              np.append(lp.row_hi, np.inf), maximize=False), "cost stage")
        if engine.status() == _SS.OPTIMAL:
            x = np.array(engine.variable_values())
        seconds["cost_stage"] = time.perf_counter() - t1
    return SolveResult(status, name, x=x, row_duals=duals, col_duals=reduced, objective=float(lp.c @ x),
                       bound=optimum if status == Status.OPTIMAL else float("nan"),
                       cost=float(lp.cost @ x), seconds=seconds, termination=termination)


def solve_mip(lp: LinearProgram, integrality: np.ndarray, solver: str = "scip",
              time_limit: float | None = None, gap: float | None = None) -> SolveResult:
    """Maximize value over a MIP on OR-Tools' SCIP (CP-SAT would need integer coefficients;
    SCIP takes the LP as is)."""
    model = _model(lp, lp.A.tocsr(), lp.c, lp.row_lo, lp.row_hi, maximize=True)
    for j in np.flatnonzero(integrality):
        model.set_var_integrality(int(j), True)
    engine = mbh.ModelSolverHelper(solver)
    if time_limit is not None:
        engine.set_time_limit_in_seconds(float(time_limit))
    if gap is not None:
        engine.set_solver_specific_parameters(f"limits/gap = {gap}")
    name = f"ortools-{solver}"
    status, termination, seconds, failed = _run(engine, model, name, "mip", time_limit, lp.objective_bounded())
    if failed:
        return failed
    x = np.array(engine.variable_values())
    return SolveResult(status, name, x=x, objective=float(lp.c @ x), bound=float(engine.best_objective_bound()),
                       cost=float(lp.cost @ x), seconds=seconds, termination=termination)
