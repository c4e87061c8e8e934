"""Why a scenario is infeasible: an elastic re-solve over the policy limits.

Each policy row r gets a violation variable e_r >= 0 (``A_r v + e_r >= lo_r`` or
``A_r v - e_r <= hi_r``); minimizing Σ_r e_r / scale_r finds the least violation that makes the
rest feasible. Rows with e_r > 0 are the limits that cannot be met; the message says how far
the installed base and the best plan stay from each. A multi-period model names its rows
``<limit row>@<period>``: the message then names the period of each limit.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from optimizer.model.data import MTPP, ModelData
from optimizer.model.elastic import policy_rows, with_elastic_rows
from optimizer.model.lp import LinearProgram
from optimizer.policy.rules import ROW_FAMILIES, Limit, describe_infeasible
from optimizer.solvers.highs import solve_lp
from optimizer.solvers.result import Status


def diagnose(d: ModelData, lp: LinearProgram) -> tuple[str, list[str], list[str]]:
    """A planner-readable message, the limit families that cannot be met, and the limits."""
    return diagnose_rows(lp, {lim.row: (d, lim, "") for lim in d.limits})


def diagnose_rows(lp: LinearProgram, limits: Mapping[str, tuple[ModelData, Limit, str]]
                  ) -> tuple[str, list[str], list[str]]:
    """:func:`diagnose` for any LP whose policy rows are named in ``limits``: row name -> the
    model data the limit is of, the limit, and a prefix for its line (e.g. ``in period 2026Q1: ``)."""
    rows = policy_rows(lp)
    if not rows:
        return "the physical limits cannot all hold", [], []
    elastic = with_elastic_rows(lp, rows, np.ones(len(rows)), keep_objective=False)
    result = solve_lp(elastic, lexicographic=False)
    if result.status != Status.OPTIMAL:
        return "the limits cannot all hold (the elastic diagnosis did not solve)", [], []
    violation = result.x[elastic.var_blocks["violation"].slice]
    lines, families, names = [], [], []
    for (name, blk), e in zip(rows, violation):
        if e <= 1e-7:
            continue
        d, lim, prefix = limits[name]
        families.append(blk.family)
        names.append(name)
        lines.append(prefix + _describe(d, lim, e))
    if not lines:
        return "the limits cannot all hold", [], []
    return "; ".join(lines), sorted(set(families), key=ROW_FAMILIES.index), names


def _describe(d: ModelData, lim: Limit, excess_mtpp: float) -> str:
    installed_group = d.installed_in(np.isin(d.site_country, list(lim.members))) * MTPP
    return describe_infeasible(lim, installed_group, d.installed_total * MTPP, excess_mtpp * MTPP)
