"""fleetopt: place AI accelerators across data centers within export-control limits."""
from .check import check_plan
from .errors import FleetoptError, InfeasibleError, InputError, SolverError
from .output import read_plan, write_plan
from .plan import Plan
from .policy import Policy, load_policy
from .scenario import Scenario
from .solve import SolverPath, solve
from .validation import load_scenario

__all__ = ["FleetoptError", "InfeasibleError", "InputError", "SolverError", "Plan", "Policy",
           "Scenario", "SolverPath", "check_plan", "load_policy", "load_scenario", "read_plan",
           "solve", "write_plan"]
