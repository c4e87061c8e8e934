"""The library entry point: scenario in, plan out, through one of the solver paths.

>>> from optimizer import load_scenario, solve            # doctest: +SKIP
>>> plan = solve(load_scenario("datasets/sample"))         # doctest: +SKIP
>>> plan.summary["served_pct"], plan.placement.head()      # doctest: +SKIP
"""
from __future__ import annotations

import time
from enum import Enum

import pandas as pd

from .backends.highs import solve_lp
from .backends.pulp_cbc import solve_pulp
from .diagnose import diagnose
from .errors import InfeasibleError, SolverError
from .lp import LinearProgram
from .model import build_plain
from .modeldata import MTPP, UNIT, ModelData
from .plan import Plan, placement_table, service_table
from .result import SolveResult, Status
from .scenario import Scenario
from .summary import build_summary


class SolverPath(str, Enum):
    """How the model is formulated and which solver takes it."""

    FAST = "fast"
    PLAIN = "plain"
    PULP = "pulp"


def solve(s: Scenario, path: SolverPath | str = SolverPath.FAST,
          time_limit: float | None = None) -> Plan:
    """Maximize value served, then minimize cost; raise InfeasibleError or SolverError."""
    path = SolverPath(path)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    d = ModelData.from_scenario(s)
    timings["build"] = time.perf_counter() - t0
    lp = None
    if path == SolverPath.PULP:
        t1 = time.perf_counter()
        result, new_units, served = solve_pulp(d, time_limit=time_limit)
        timings["solve"] = time.perf_counter() - t1
        counts = {"pairs": len(d.pairs)}
    else:
        lp = build_plain(d)
        timings["build"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = solve_lp(lp, time_limit=time_limit)
        timings["solve"] = time.perf_counter() - t1
        counts = {"pairs": len(d.pairs), "variables": lp.num_col, "rows": lp.num_row,
                  "nonzeros": int(lp.A.nnz)}
        if result.status.has_solution:
            new_units, served = plain_solution(lp, result)
    _raise_for_status(result, d, lp)
    placement = placement_table(s, new_units)
    service = service_table(d.pairs, served)
    summary = build_summary(s, placement, service, result, path.value, counts)
    summary["timings"] = timings
    return Plan(placement, service, summary, s)


def plain_solution(lp: LinearProgram, result: SolveResult) -> tuple[pd.Series, pd.Series]:
    """New units per (site, sku) and served TPP per (market, site), in planner units."""
    return lp.values(result.x, "x") * UNIT, lp.values(result.x, "f") * MTPP


def _raise_for_status(result: SolveResult, d: ModelData, lp: LinearProgram | None) -> None:
    if result.status == Status.INFEASIBLE:
        message, families = diagnose(d, lp if lp is not None else build_plain(d))
        raise InfeasibleError(f"infeasible: {message}", families)
    if not result.status.has_solution:
        raise SolverError(f"{result.solver}: no plan ({result.status.value}"
                          f"{': ' + result.message if result.message else ''})")
