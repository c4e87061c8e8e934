"""One result type for every backend: a status, why the solve stopped, objectives, primal
values, duals, timings.

Two things are kept apart. ``Termination`` is *why* a solver stopped (it proved optimality, it
proved infeasibility, a time limit, an iteration limit, ...), as close to the solver's own words
as the tool needs. ``Status`` is what that means for the planner, one vocabulary used by solve,
sweep, summary.json and the exit codes:

=========================  ==========================================================  ====
status                     meaning                                                     exit
=========================  ==========================================================  ====
optimal                    a plan, proven optimal (integer: within the gap target)     0
feasible                   a plan, stopped by a time, iteration or gap limit; see gap  0
infeasible                 the limits cannot all hold (diagnosed)                      3
unbounded                  the objective has no upper bound                            4
infeasible_or_unbounded    the solver proved one of the two without saying which       4
no_plan                    a limit was reached before any plan was found               4
error                      the solver failed                                           4
=========================  ==========================================================  ====

Each backend maps its own codes through a table onto a ``Termination`` (``*_TERMINATION``
in the backend modules); :func:`status_for` turns a termination and "is there a plan?" into a
``Status``, the same way for every backend.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

COST_NOT_MINIMISED = "cost was not minimised"   # how the note on a cut-off cost stage begins
LEXICOGRAPHIC_REL_TOL = 1e-7  # secondary (cost) stage keeps value within this of the optimum


class Status(str, Enum):
    """Solver outcome in the tool's own words (see the module docstring)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    NO_PLAN = "no_plan"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class Termination(str, Enum):
    """Why the solver stopped (independent of whether it holds a plan)."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    GAP_LIMIT = "gap_limit"          # round method: stopped with a gap above the target
    OTHER_LIMIT = "other_limit"      # a solution, node, objective or memory limit, or an interrupt
    ERROR = "error"


_DEFINITE = {Termination.OPTIMAL: Status.OPTIMAL, Termination.INFEASIBLE: Status.INFEASIBLE,
             Termination.UNBOUNDED: Status.UNBOUNDED,
             Termination.INFEASIBLE_OR_UNBOUNDED: Status.INFEASIBLE_OR_UNBOUNDED,
             Termination.ERROR: Status.ERROR}


def status_for(termination: Termination, has_plan: bool) -> Status:
    """The planner's status: a limit gives ``feasible`` with a plan, ``no_plan`` without."""
    if termination in _DEFINITE:
        return _DEFINITE[termination]
    return Status.FEASIBLE if has_plan else Status.NO_PLAN


@dataclass(frozen=True)
class Ranging:
    """Right-hand-side ranging of the value stage (HiGHS ``getRanging``), model units: each row's
    dual holds while its active bound stays within [row_dn, row_up]; each nonbasic column's
    reduced cost while its active bound stays within [col_dn, col_up]. ``col_at_upper`` marks
    columns that sit at their upper bound in the optimal basis."""

    row_dn: np.ndarray
    row_up: np.ndarray
    col_dn: np.ndarray
    col_up: np.ndarray
    col_at_upper: np.ndarray


@dataclass
class SolveResult:
    """What a backend returns, in model units (the LinearProgram's scales convert)."""

    status: Status
    solver: str
    x: np.ndarray | None = None
    row_duals: np.ndarray | None = None   # of the value-maximising stage
    col_duals: np.ndarray | None = None   # reduced costs, same stage
    objective: float = float("nan")      # primary objective, model units
    bound: float = float("nan")
    cost: float = float("nan")           # secondary objective, model units
    message: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    termination: Termination = Termination.OPTIMAL
    ranging: Ranging | None = None       # of the value stage, when asked for (HiGHS only)
    notes: list[str] = field(default_factory=list)   # one line each, copied into summary notes

    @property
    def gap(self) -> float:
        if not np.isfinite(self.bound) or not np.isfinite(self.objective):
            return float("nan")
        return abs(self.bound - self.objective) / max(1e-9, abs(self.objective))


def cost_stage_stopped(result: SolveResult, termination: Termination) -> SolveResult:
    """Mark ``result`` (value stage optimal) whose cost stage stopped short of optimality: the
    plan's value is optimal but its cost was not minimised, so the status is ``feasible`` with
    the cost stage's termination and a note that says so."""
    reason = {Termination.TIME_LIMIT: "the time limit",
              Termination.ITERATION_LIMIT: "the iteration limit"}.get(termination, "a solver limit")
    result.status = Status.FEASIBLE
    result.termination = termination if termination in _LIMITS else Termination.OTHER_LIMIT
    result.notes.append(f"{COST_NOT_MINIMISED}: the cost stage stopped at {reason}; the value is "
                        f"optimal (the plan serves the most value possible, at a cost that may be higher "
                        f"than needed)")
    return result


_LIMITS = (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT, Termination.OTHER_LIMIT)


def value_floor(optimum: float) -> float:
    """Lowest primary objective the cost stage may accept: optimum less 1e-7 relative."""
    return optimum - LEXICOGRAPHIC_REL_TOL * max(abs(optimum), 1e-6)
