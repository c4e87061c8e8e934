"""Elastic rows: give chosen rows a violation variable, priced in the objective.

For a row ``lo <= a·v`` (a minimum) the violation e >= 0 enters as ``a·v + e >= lo``; for a row
``a·v <= hi`` (a maximum) as ``a·v - e <= hi``. With objective coefficient -price on e, a
maximization trades value against violation: this is both the infeasibility diagnosis (value 0,
price 1) and soft limits (the model's value, the planner's prices).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.model.lp import Block, LinearProgram
from optimizer.policy.rules import ROW_FAMILIES


def policy_rows(lp: LinearProgram) -> list[tuple[str, Block]]:
    """The one-row blocks of the policy limits (every family with model rows), in model order."""
    return [(name, blk) for name, blk in lp.row_blocks.items() if blk.family in ROW_FAMILIES]


def with_elastic_rows(lp: LinearProgram, rows: list[tuple[str, Block]], price: np.ndarray,
                      keep_objective: bool = True) -> LinearProgram:
    """A copy of ``lp`` with a violation column per row (block ``violation``), objective -price."""
    idx = np.array([blk.start for _, blk in rows], dtype=np.int64)
    n = len(idx)
    sign = np.where(np.isfinite(lp.row_lo[idx]), 1.0, -1.0)
    E = sp.csr_matrix((sign, (idx, np.arange(n))), shape=(lp.num_row, n))
    blocks = dict(lp.var_blocks)
    blocks["violation"] = Block("violation", lp.num_col, pd.Index([name for name, _ in rows], name="limit"))
    c = lp.c if keep_objective else np.zeros(lp.num_col)
    return LinearProgram(
        A=sp.hstack([lp.A, E]).tocsr(), c=np.concatenate([c, -np.asarray(price, float)]),
        cost=np.concatenate([lp.cost, np.zeros(n)]),
        col_lo=np.concatenate([lp.col_lo, np.zeros(n)]), col_hi=np.concatenate([lp.col_hi, np.full(n, np.inf)]),
        row_lo=lp.row_lo, row_hi=lp.row_hi, var_blocks=blocks, row_blocks=lp.row_blocks,
        objective_scale=lp.objective_scale, cost_scale=lp.cost_scale, cost_offset=lp.cost_offset)
