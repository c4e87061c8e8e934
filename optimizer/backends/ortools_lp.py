"""OR-Tools (GLOP simplex or PDLP first-order) on the same matrices, through ModelBuilderHelper.

Same two stages as the HiGHS backend: maximize value, then add ``c·v >= optimum - 1e-7·|optimum|``
and minimize cost. PDLP runs with tight tolerances so its plans pass the checker.
"""
from __future__ import annotations

import time

import numpy as np
from ortools.linear_solver.python import model_builder_helper as mbh

from ..lp import LinearProgram
from ..result import SolveResult, Status, value_floor

_STATUS = {mbh.SolveStatus.OPTIMAL: Status.OPTIMAL, mbh.SolveStatus.FEASIBLE: Status.TIME_LIMIT_FEASIBLE,
           mbh.SolveStatus.INFEASIBLE: Status.INFEASIBLE, mbh.SolveStatus.UNBOUNDED: Status.UNBOUNDED,
           mbh.SolveStatus.NOT_SOLVED: Status.TIME_LIMIT_NO_SOLUTION}
PDLP_PARAMS = ("termination_criteria { simple_optimality_criteria { eps_optimal_relative: 1e-9 "
               "eps_optimal_absolute: 1e-9 } }")
SOLVERS = {"glop": "glop", "pdlp": "pdlp"}


def solve_lp(lp: LinearProgram, solver: str = "glop", time_limit: float | None = None,
             lexicographic: bool = True) -> SolveResult:
    """Solve on OR-Tools' ``glop`` or ``pdlp``."""
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(lp.col_lo, lp.col_hi, lp.c, lp.row_lo, lp.row_hi, lp.A.tocsr())
    model.set_maximize(True)
    engine = mbh.ModelSolverHelper(SOLVERS[solver])
    if solver == "pdlp":
        engine.set_solver_specific_parameters(PDLP_PARAMS)
    if time_limit is not None:
        engine.set_time_limit_in_seconds(float(time_limit))
    t0 = time.perf_counter()
    engine.solve(model)
    status = _STATUS.get(engine.status(), Status.ERROR)
    seconds = {"value_stage": time.perf_counter() - t0}
    name = f"ortools-{solver}"
    if not status.has_solution:
        return SolveResult(status, name, message=engine.status_string(), seconds=seconds)
    x = np.array(engine.variable_values())
    optimum = engine.objective_value()
    duals = np.array(engine.dual_values())
    if lexicographic and status == Status.OPTIMAL and np.any(lp.cost):
        t1 = time.perf_counter()
        nz = np.flatnonzero(lp.c)
        row = model.add_linear_constraint()
        model.set_constraint_lower_bound(row, value_floor(optimum))
        model.set_constraint_upper_bound(row, np.inf)
        model.add_terms_to_constraint(row, nz.tolist(), lp.c[nz].tolist())
        model.set_objective_coefficients(list(range(lp.num_col)), lp.cost.tolist())
        model.set_maximize(False)
        engine.solve(model)
        if _STATUS.get(engine.status()) == Status.OPTIMAL:
            x = np.array(engine.variable_values())
        seconds["cost_stage"] = time.perf_counter() - t1
    return SolveResult(status, name, x=x, row_duals=duals, objective=float(lp.c @ x), bound=optimum,
                       cost=float(lp.cost @ x), seconds=seconds)
