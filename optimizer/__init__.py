"""fleetopt: place AI accelerators across data centers within export-control limits.

The public names below are imported on first use (PEP 562), not with the package: a process
that runs OR-Tools (:mod:`optimizer.solvers.ortools_child`) must load it before anything loads
highspy, whose HiPO build bundles a HiGHS library that clashes with OR-Tools' own.
"""
from __future__ import annotations

import importlib

_PUBLIC = {
    "FleetoptError": "optimizer.errors", "InfeasibleError": "optimizer.errors",
    "InputError": "optimizer.errors", "SolverError": "optimizer.errors",
    "Scenario": "optimizer.inputs.scenario", "load_scenario": "optimizer.inputs.validation",
    "load_plan": "optimizer.io.planfiles", "read_plan": "optimizer.io.planfiles", "write_plan": "optimizer.io.planfiles",
    "SolverPath": "optimizer.planner.solve", "solve": "optimizer.planner.solve",
    "Policy": "optimizer.policy.policy", "load_policy": "optimizer.policy.policy",
    "check_plan": "optimizer.results.check", "Plan": "optimizer.results.plan",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
