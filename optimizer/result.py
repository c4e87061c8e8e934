"""One result type for every backend: a status enum, objectives, primal values, duals, timings."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

LEXICOGRAPHIC_REL_TOL = 1e-7  # secondary (cost) stage keeps value within this of the optimum


class Status(str, Enum):
    """Solver outcome, in the tool's own words (backends map their codes onto these)."""

    OPTIMAL = "optimal"
    TIME_LIMIT_FEASIBLE = "time_limit_feasible"
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.TIME_LIMIT_FEASIBLE)


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

    @property
    def gap(self) -> float:
        if not np.isfinite(self.bound) or not np.isfinite(self.objective):
            return float("nan")
        return abs(self.bound - self.objective) / max(1e-9, abs(self.objective))


def value_floor(optimum: float) -> float:
    """Lowest primary objective the cost stage may accept: optimum less 1e-7 relative."""
    return optimum - LEXICOGRAPHIC_REL_TOL * max(abs(optimum), 1e-6)
