"""fleetopt: place AI accelerators across data centers within export-control limits."""
from optimizer.errors import FleetoptError, InfeasibleError, InputError, SolverError
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.validation import load_scenario
from optimizer.io.planfiles import load_plan, read_plan, write_plan
from optimizer.planner.solve import SolverPath, solve
from optimizer.policy.policy import Policy, load_policy
from optimizer.results.check import check_plan
from optimizer.results.plan import Plan

__all__ = ["FleetoptError", "InfeasibleError", "InputError", "SolverError", "Plan", "Policy",
           "Scenario", "SolverPath", "check_plan", "load_plan", "load_policy", "load_scenario", "read_plan",
           "solve", "write_plan"]
