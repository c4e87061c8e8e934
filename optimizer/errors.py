"""Exceptions that the CLI turns into one-line messages and documented exit codes.

Exit codes (see the README): 0 success, 1 plan not compliant (``check``), 2 bad input,
3 infeasible scenario, 4 solver failure or time limit without a plan, 5 benchmark paths
disagree, 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4
EXIT_DISAGREE = 5
EXIT_INTERRUPTED = 130


class FleetoptError(Exception):
    """Base class of every error the tool reports without a traceback."""

    exit_code = 4


class InputError(FleetoptError):
    """The scenario or policy is malformed; ``problems`` holds one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class InfeasibleError(FleetoptError):
    """A well-formed scenario whose limits cannot all hold; names the limit families."""

    exit_code = 3

    def __init__(self, message: str, families: list[str] | None = None, limits: list[str] | None = None):
        self.families = families or []
        self.limits = limits or []
        super().__init__(message)


class SolverError(FleetoptError):
    """The solver failed, or stopped (time limit) without a usable plan. ``status`` is the
    solver status in the tool's vocabulary (``no_plan``, ``unbounded``,
    ``infeasible_or_unbounded`` or ``error``; see optimizer/solvers/result.py)."""

    exit_code = 4

    def __init__(self, message: str, status: str = "error"):
        self.status = status
        super().__init__(message)
