"""HiGHS compares time_limit with its run time summed over every run() of one instance
(HiGHS issue #1477); fleetopt's repeated solves on one instance set their limits from that
clock (optimizer.solvers.highs.set_time_left)."""
from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from optimizer import load_scenario
from optimizer.bench.generate import generate_fleet
from optimizer.model.data import ModelData
from optimizer.model.lp import LinearProgram
from optimizer.model.plain import build_plain
from optimizer.solvers.highs import WarmSession, make_highs, pass_lp, run, set_time_left

TINY = LinearProgram(A=sp.csr_matrix(np.array([[1.0, 1.0]])), c=np.array([1.0, 2.0]), cost=np.zeros(2),
                     col_lo=np.zeros(2), col_hi=np.full(2, 5.0), row_lo=np.array([-np.inf]),
                     row_hi=np.array([4.0]), var_blocks={}, row_blocks={})


def busy_instance(tmp_path) -> tuple[highspy.Highs, float]:
    """A HiGHS instance that has already run for a while (a 400-site plain LP, simplex)."""
    lp = build_plain(ModelData.from_scenario(load_scenario(generate_fleet(tmp_path / "f", sites=400, skus=4, seed=2))))
    h = make_highs({"solver": "simplex"})
    pass_lp(h, lp)
    run(h)
    spent = h.getRunTime()
    assert spent > 0.05 and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h, spent


def test_time_left_counts_from_now_on_a_busy_instance(tmp_path):
    h, spent = busy_instance(tmp_path)
    pass_lp(h, TINY)
    set_time_left(h, spent / 2)              # less than it has run already, ample for the tiny LP
    run(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == 8.0


def test_highs_own_limit_is_on_the_summed_clock(tmp_path):
    """What set_time_left works around; if a HiGHS release resets the clock per run(), this
    fails, and set_time_left can go."""
    h, spent = busy_instance(tmp_path)
    pass_lp(h, TINY)
    h.setOptionValue("time_limit", spent / 2)
    run(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit


def test_each_warm_sweep_variant_gets_the_whole_limit(tmp_path):
    """A sweep session's variants share one instance: each solve's limit counts from its own start
    on HiGHS's summed clock, so a variant after a long one is not cut short."""
    lp = build_plain(ModelData.from_scenario(load_scenario(generate_fleet(tmp_path / "f", sites=400, skus=4, seed=2))))
    limit = 60.0
    session = WarmSession(lp, {"solver": "simplex", "time_limit": limit})
    session.solve(lp)
    spent = session.h.getRunTime()
    assert spent > 0.05
    result = session.solve(lp)
    assert result.status.name == "OPTIMAL"
    assert spent + limit <= session.h.getOptions().time_limit <= spent + limit + 5.0
