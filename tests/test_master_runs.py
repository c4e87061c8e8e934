"""A column generation's master run (optimizer.solvers.highs.run_master): when HiGHS ends a warm
solve with status 'unknown', the master is solved again from the basis it ended on before any
solve from scratch. And its quiet rounds (run_round): short rounds run without the per-iteration
interrupt callback, capped in time, with Ctrl-C held until the round returns."""
from __future__ import annotations

import signal

import highspy
import numpy as np
import pytest
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


def test_a_rerun_polls_ctrl_c_at_every_iteration(monkeypatch):
    """A round that ran without the per-iteration interrupt callback turns it back on before the
    master is solved again (a solve from scratch is long)."""
    switched = []
    monkeypatch.setattr(highs, "interrupt_every_iteration", lambda h, on: switched.append(on))
    h = small_master()
    h.run()
    highs.run_master(UnknownOnce(h))
    assert switched == [True]
    switched.clear()
    highs.run_master(h)                            # optimal at once: nothing switched
    assert switched == []


def _cost_stage_rounds(tmp_path, monkeypatch, quiet: float, cap: float = 2.0) -> tuple[list[bool], int, float, float]:
    """The callback switches (on or off) of a per-site multi-period cost stage with
    QUIET_ROUND_SECONDS = ``quiet`` and QUIET_ROUND_CAP = ``cap``, HiGHS's callback polls, and the
    plan's value and discounted cost."""
    switched, polls = [], []
    real, poll = highs.interrupt_every_iteration, highs.interrupt_requested
    monkeypatch.setattr(highs, "interrupt_every_iteration", lambda h, on: (switched.append(on), real(h, on)))
    monkeypatch.setattr(highs, "interrupt_requested", lambda: polls.append(1) or poll())
    monkeypatch.setattr(highs, "QUIET_ROUND_SECONDS", quiet)
    monkeypatch.setattr(highs, "QUIET_ROUND_CAP", cap)
    folder = generate_fleet(tmp_path / f"fleet{quiet}-{cap}", sites=150, skus=4, seed=5, periods=4, tariffs="site")
    plan = solve_timeline(load_timeline(folder), path="fast")
    assert plan.summary["status"] == "optimal"
    assert len(switched) >= plan.summary["model"]["cost_stage_rounds"] > 1
    return switched, len(polls), plan.summary["objective"], plan.summary["cost"]["discounted_usd"]


def test_short_master_rounds_run_without_the_per_iteration_callback(tmp_path, monkeypatch):
    """After a round shorter than QUIET_ROUND_SECONDS the next runs without HiGHS's interrupt
    callback (the first round always with it), after a longer one with it; a quiet round that
    reaches QUIET_ROUND_CAP goes on with the callback; the optimum is the same every way."""
    quiet, quiet_polls, value, cost = _cost_stage_rounds(tmp_path, monkeypatch, 1e9)
    assert quiet[0] and not any(quiet[1:])
    polled, polls, value2, cost2 = _cost_stage_rounds(tmp_path, monkeypatch, 0.0)
    assert all(polled)
    assert polls > quiet_polls            # HiGHS really stopped calling back (not only told to)
    assert value2 == value and abs(cost2 - cost) <= 1e-9 * abs(cost)
    capped, capped_polls, value3, cost3 = _cost_stage_rounds(tmp_path, monkeypatch, 1e9, cap=1e-9)
    assert capped[0] and capped[1:3] == [False, True]    # off, reached the cap at once, on again
    assert capped_polls > quiet_polls
    assert value3 == value and abs(cost3 - cost) <= 1e-9 * abs(cost)


def test_ctrl_c_in_a_quiet_round_is_held_until_the_round_returns():
    """SIGINT while a master round runs without the callback: the round still ends optimal, and
    the interrupt is raised as it returns (with the callback on, HiGHS would have stopped)."""
    class SignalThenRun:
        def __init__(self, h):
            self.h = h

        def run(self):
            signal.raise_signal(signal.SIGINT)
            return self.h.run()

        def __getattr__(self, name):
            return getattr(self.h, name)

    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        h = small_master()
        highs.interrupt_every_iteration(h, False)
        with pytest.raises(KeyboardInterrupt):
            highs.run_master(SignalThenRun(h))
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal and h.getInfo().simplex_iteration_count > 0
        h2 = small_master()                       # the callback on: HiGHS stops at once
        with pytest.raises(KeyboardInterrupt):
            highs.run_master(SignalThenRun(h2))
        assert h2.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    finally:
        signal.signal(signal.SIGINT, earlier)
