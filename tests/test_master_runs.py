"""A column generation's master run (optimizer.solvers.highs.run_master): when HiGHS ends a warm
solve with status 'unknown', the master is solved again from the basis it ended on before any
solve from scratch. And a solve polls no Python callback at HiGHS's iterations (polls_held; Ctrl-C
through the watcher is tested in tests/test_progress.py)."""
from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline
from optimizer.model.lp import LinearProgram
from optimizer.planner.periods import solve_timeline
from optimizer.solvers import highs

UNKNOWN, INFEASIBLE = highspy.HighsModelStatus.kUnknown, highspy.HighsModelStatus.kInfeasible


class UnknownOnce:
    """A HiGHS model whose first runs report the statuses ``fake`` (by default 'unknown' once, as a
    warm primal simplex that gave up in its clean-up does), and which counts the simplex
    iterations of each run."""

    def __init__(self, h: highspy.Highs, fake: tuple = (UNKNOWN,)):
        self.h, self.fake, self.iterations = h, fake, []

    def run(self):
        status = self.h.run()
        self.iterations.append(self.h.getInfo().simplex_iteration_count)
        return status

    def getModelStatus(self):
        if len(self.iterations) <= len(self.fake):
            return self.fake[len(self.iterations) - 1]
        return self.h.getModelStatus()

    def __getattr__(self, name):
        return getattr(self.h, name)


def small_master() -> highspy.Highs:
    """A transportation-like LP that takes a few simplex iterations from scratch."""
    rng = np.random.default_rng(3)
    n, m = 30, 12
    A = sp.csr_matrix(rng.uniform(0.1, 1.0, (m, n)) * (rng.uniform(size=(m, n)) < 0.5))
    lp = LinearProgram(A=A, c=-rng.uniform(1.0, 2.0, n), cost=np.zeros(n), col_lo=np.zeros(n),
                       col_hi=np.full(n, 5.0), row_lo=np.full(m, -np.inf), row_hi=rng.uniform(2.0, 4.0, m),
                       var_blocks={}, row_blocks={}, cost_scale=1.0, cost_offset=0.0)
    h = highs.make_highs({"output_flag": False, **highs.MASTER_SIMPLEX})
    highs.pass_lp(h, lp, maximize=False)
    return h


def test_an_unknown_status_is_solved_again_from_its_basis():
    h = small_master()
    h.run()
    assert h.getInfo().simplex_iteration_count > 0
    optimum = h.getInfo().objective_function_value
    wrapped = UnknownOnce(h)
    highs.run_master(wrapped)
    assert wrapped.iterations[1:] == [0]           # the rerun started from the basis: no iteration
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == optimum


def test_a_second_unknown_status_is_solved_from_scratch():
    h = small_master()
    h.run()
    wrapped = UnknownOnce(h, fake=(UNKNOWN, UNKNOWN))
    highs.run_master(wrapped)
    assert len(wrapped.iterations) == 3 and wrapped.iterations[2] > 0     # from scratch
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def test_an_infeasible_rerun_from_the_basis_is_solved_from_scratch():
    """The master always holds a feasible point: 'infeasible' from the rerun is not believed."""
    h = small_master()
    h.run()
    wrapped = UnknownOnce(h, fake=(UNKNOWN, INFEASIBLE))
    highs.run_master(wrapped)
    assert len(wrapped.iterations) == 3 and wrapped.iterations[2] > 0
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def test_a_cost_stage_polls_no_python_callback(tmp_path, monkeypatch):
    """A per-site multi-period solve (value stage by IPX with its crossover, the split, every
    master round) runs with HiGHS's per-iteration interrupt callbacks held off (polls_held): no
    call into Python but those of the crossover that gives the master its first basis, which
    keeps them (crossover_from: highspy's crossover keeps the GIL); the optimum is found."""
    calls: list[int] = []
    monkeypatch.setattr(highs, "_callback", lambda kind, *rest: calls.append(int(kind)))
    in_crossover: list[int] = []
    real_crossover = highs.crossover_from

    def counted(h, col_value):
        before = len(calls)
        real_crossover(h, col_value)
        in_crossover.append(len(calls) - before)
    monkeypatch.setattr(highs, "crossover_from", counted)
    folder = generate_fleet(tmp_path / "fleet", sites=150, skus=4, seed=5, periods=4, tariffs="site")
    plan = solve_timeline(load_timeline(folder), path="fast")
    assert plan.summary["status"] == "optimal" and plan.summary["model"]["cost_stage_rounds"] > 1
    assert len(in_crossover) == 1 and len(calls) == in_crossover[0]
