"""HiGHS 1.16's crossover from a primal point crashes the process (segmentation fault) when
HiGHS's global task scheduler has not started: before the first run() of a process, or after
the scheduler was reset for another thread count. The cost stage's column generation starts
with that crossover (optimizer.solvers.highs.crossover_from, which starts the scheduler first).
Each case runs in a fresh interpreter, where nothing has run HiGHS yet."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

ASSIGNMENT = textwrap.dedent("""
    import numpy as np, scipy.sparse as sp
    from optimizer.model.lp import LinearProgram
    from optimizer.solvers import highs
    n = 6
    rows = np.r_[np.repeat(np.arange(n), n), n + np.tile(np.arange(n), n)]
    cols = np.r_[np.arange(n * n), np.arange(n * n)]
    A = sp.csr_matrix((np.ones(2 * n * n), (rows, cols)), shape=(2 * n, n * n))
    cost = np.random.default_rng(0).uniform(1, 2, n * n)
    lp = LinearProgram(A=A, c=cost, cost=cost, col_lo=np.zeros(n * n), col_hi=np.full(n * n, np.inf),
                       row_lo=np.r_[np.full(n, -np.inf), np.full(n, 0.5)], row_hi=np.r_[np.ones(n), np.full(n, np.inf)],
                       var_blocks={}, row_blocks={})
    {before}
    no_columns = lambda duals: (sp.csc_matrix((2 * n, 0)), np.zeros(0), 0.0)
    cg = highs.column_generation(lp, no_columns, 1e-9, options={options}, start=np.full(n * n, 0.9 / n))
    h = highs.make_highs({options})
    highs.pass_lp(h, lp, maximize=False)
    highs.run(h)
    print(cg.termination.name, abs(cg.cost - h.getInfo().objective_function_value) <= 1e-9)
""")


@pytest.mark.parametrize("before, options", [
    ("", "{}"),                                                   # nothing has run HiGHS yet
    ("highs._use_threads(1)", "{'threads': 1}"),                  # the scheduler was just reset
])
def test_column_generation_from_a_start_survives_a_fresh_scheduler(before, options):
    code = ASSIGNMENT.replace("{before}", before).replace("{options}", options)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode} (-11: segmentation fault)\n{done.stderr[-2000:]}"
    assert done.stdout.split()[-2:] == ["OPTIMAL", "True"]
