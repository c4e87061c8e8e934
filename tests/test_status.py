"""Solver statuses: each backend's mapping table, real tiny LPs that are infeasible or unbounded
on HiGHS, OR-Tools and CBC, and the status vocabulary through solve, summary and exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import highspy
import numpy as np
import pulp
import pytest
import scipy.sparse as sp
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import InfeasibleError, SolverError, load_scenario, solve
from optimizer.model.lp import LinearProgram
from optimizer.planner.solve import _raise_for_status
from optimizer.results.solution import Solution
from optimizer.solvers import highs
from optimizer.solvers.ortools_process import GLOP, PDLP, SCIP, _why
from optimizer.solvers.pulp_cbc import CBC_TERMINATION, cbc, cbc_status
from optimizer.solvers.result import Status, Termination, status_for

ROOT = Path(__file__).resolve().parents[1]

INF = np.inf
VOCABULARY = {"optimal", "feasible", "infeasible", "unbounded", "infeasible_or_unbounded", "no_plan", "error"}


def test_vocabulary_is_exactly_the_documented_one():
    assert {s.value for s in Status} == VOCABULARY
    assert {s for s in Status if s.has_solution} == {Status.OPTIMAL, Status.FEASIBLE}


@pytest.mark.parametrize("termination,plan,status", [
    (Termination.OPTIMAL, True, Status.OPTIMAL),
    (Termination.INFEASIBLE, False, Status.INFEASIBLE),
    (Termination.UNBOUNDED, False, Status.UNBOUNDED),
    (Termination.INFEASIBLE_OR_UNBOUNDED, False, Status.INFEASIBLE_OR_UNBOUNDED),
    (Termination.TIME_LIMIT, True, Status.FEASIBLE),
    (Termination.TIME_LIMIT, False, Status.NO_PLAN),
    (Termination.ITERATION_LIMIT, True, Status.FEASIBLE),
    (Termination.ITERATION_LIMIT, False, Status.NO_PLAN),
    (Termination.GAP_LIMIT, True, Status.FEASIBLE),
    (Termination.OTHER_LIMIT, False, Status.NO_PLAN),
    (Termination.ERROR, False, Status.ERROR),
])
def test_status_for(termination, plan, status):
    assert status_for(termination, plan) == status


def test_highs_table():
    t, ms = highs.HIGHS_TERMINATION, highspy.HighsModelStatus
    assert t[ms.kUnboundedOrInfeasible] == Termination.INFEASIBLE_OR_UNBOUNDED   # not "infeasible"
    assert t[ms.kInfeasible] == Termination.INFEASIBLE and t[ms.kUnbounded] == Termination.UNBOUNDED
    assert t[ms.kTimeLimit] == Termination.TIME_LIMIT and t[ms.kIterationLimit] == Termination.ITERATION_LIMIT
    for error in (ms.kSolveError, ms.kUnknown, ms.kNotset, ms.kModelError):
        assert error not in t      # -> Termination.ERROR


ORTOOLS_TABLE = """
from ortools.linear_solver.python import model_builder_helper as mbh
from optimizer.solvers import ortools_lp
from optimizer.solvers.result import Status, Termination
ss = mbh.SolveStatus
assert ortools_lp.ortools_status(ss.OPTIMAL) == (Status.OPTIMAL, Termination.OPTIMAL)
assert ortools_lp.ortools_status(ss.FEASIBLE, 5.0) == (Status.FEASIBLE, Termination.TIME_LIMIT)
assert ortools_lp.ortools_status(ss.NOT_SOLVED, 5.0) == (Status.NO_PLAN, Termination.TIME_LIMIT)
assert ortools_lp.ortools_status(ss.UNBOUNDED)[0] == Status.UNBOUNDED
# OR-Tools' INFEASIBLE is also its infeasible-or-unbounded: definite only for a bounded objective
assert ortools_lp.ortools_status(ss.INFEASIBLE)[0] == Status.INFEASIBLE_OR_UNBOUNDED
assert ortools_lp.ortools_status(ss.INFEASIBLE, bounded=True)[0] == Status.INFEASIBLE
assert ortools_lp.ortools_status(ss.ABNORMAL)[0] == Status.ERROR
print("table ok")
"""


def test_ortools_table():
    """In a process of its own: OR-Tools cannot load beside highspy's HiPO build."""
    done = subprocess.run([sys.executable, "-c", ORTOOLS_TABLE], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "table ok", done.stderr


def test_cbc_table():
    assert CBC_TERMINATION["Not Solved"] == Termination.OTHER_LIMIT
    assert "Undefined" not in CBC_TERMINATION        # an unreadable CBC answer is an error, not infeasible


def tiny(A, c, col_hi, row_lo, row_hi) -> LinearProgram:
    A = sp.csr_matrix(np.array(A, float))
    n = A.shape[1]
    return LinearProgram(A=A, c=np.array(c, float), cost=np.zeros(n), col_lo=np.zeros(n),
                         col_hi=np.array(col_hi, float), row_lo=np.array(row_lo, float),
                         row_hi=np.array(row_hi, float), var_blocks={}, row_blocks={})


INFEASIBLE_LP = tiny([[1.0]], [1.0], [10.0], [-INF], [-1.0])                 # 0 <= x <= 10, x <= -1
UNBOUNDED_LP = tiny([[1.0, -1.0]], [1.0, 0.0], [INF, INF], [-INF], [0.0])    # max x, x <= y


@pytest.mark.parametrize("options", [{}, {"presolve": "off"}])
def test_highs_real_lps(options):
    assert highs.solve_lp(INFEASIBLE_LP, options=options).status == Status.INFEASIBLE
    assert highs.solve_lp(UNBOUNDED_LP, options=options).status == Status.UNBOUNDED
    mip = highs.solve_mip(UNBOUNDED_LP, np.ones(2, np.int32))
    assert mip.status in (Status.UNBOUNDED, Status.INFEASIBLE_OR_UNBOUNDED)   # never "infeasible"


@pytest.mark.parametrize("backend", [GLOP, PDLP], ids=["glop", "pdlp"])
def test_ortools_real_lps(backend):
    assert backend.solve(INFEASIBLE_LP).status == Status.INFEASIBLE   # bounded objective
    unbounded = backend.solve(UNBOUNDED_LP).status
    assert unbounded != Status.INFEASIBLE and not unbounded.has_solution
    assert SCIP.solve(UNBOUNDED_LP, integrality=np.ones(2, np.int32)).status == Status.UNBOUNDED


@pytest.mark.parametrize("integer", [False, True])
def test_cbc_real_lps(integer):
    cat = pulp.LpInteger if integer else pulp.LpContinuous
    for kind, expected in (("infeasible", Status.INFEASIBLE), ("unbounded", Status.UNBOUNDED)):
        prob = pulp.LpProblem("tiny", pulp.LpMaximize)
        x, y = prob.add_variable("x", lowBound=0, cat=cat), prob.add_variable("y", lowBound=0)
        prob += x
        prob += (x <= -1) if kind == "infeasible" else (x - y <= 0)
        prob.solve(cbc())
        assert cbc_status(prob)[0] == expected


def test_infeasible_or_unbounded_of_a_bounded_model_is_diagnosed_as_infeasible(tmp_path):
    """HiGHS may answer "unbounded or infeasible"; the model's objective is bounded (demand caps
    every served amount), so the plan's answer is infeasible, with the diagnosis."""
    from optimizer.model.data import ModelData
    f = write_scenario(tmp_path, [site("PL", "POL")], [chip()], [market("pl", "POL", M)],
                       installed=[("PL", "H", 10)], policy="max_tier2_country_share = 0.07\n")
    d = ModelData.from_scenario(load_scenario(f))
    sol = Solution(highs.SolveResult(Status.INFEASIBLE_OR_UNBOUNDED, "highs",
                                     termination=Termination.INFEASIBLE_OR_UNBOUNDED))
    with pytest.raises(InfeasibleError, match="POL"):
        _raise_for_status(sol, d)


@pytest.mark.parametrize("status,words", [
    (Status.NO_PLAN, "no plan"), (Status.UNBOUNDED, "unbounded"), (Status.ERROR, r"no plan \(error")])
def test_statuses_without_a_plan_exit_4(tmp_path, status, words):
    from optimizer.model.data import ModelData
    f = write_scenario(tmp_path, [site("US", "USA")], [chip()], [market("us", "USA", M)], policy="")
    d = ModelData.from_scenario(load_scenario(f))
    sol = Solution(highs.SolveResult(status, "highs", termination=Termination.TIME_LIMIT))
    with pytest.raises(SolverError, match=words) as err:
        _raise_for_status(sol, d)
    assert err.value.exit_code == 4 and err.value.status == status.value


def test_lp_time_limit_plan_is_feasible_without_prices(tmp_path, monkeypatch):
    """An LP stopped by a limit with a plan in hand: status feasible, exit 0, no shadow prices
    (duals of a basis that is not optimal would be wrong), and the CLI says so."""
    f = write_scenario(tmp_path / "s", [site("US", "USA")], [chip()], [market("us", "USA", M)], policy="")
    real = highs.status_of
    monkeypatch.setattr(highs, "status_of", lambda h: (
        (Status.FEASIBLE, Termination.TIME_LIMIT) if real(h)[0] == Status.OPTIMAL else real(h)))
    plan = solve(load_scenario(f))
    assert plan.summary["status"] == "feasible" and plan.summary["termination"] == "time_limit"
    assert "explain" not in plan.summary
    r = CliRunner().invoke(app, ["solve", str(f), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert ("status feasible: a plan that is not proven optimal; stopped by the time limit; "
            "no gap (an LP stopped early has no bound)") in r.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "feasible"


def test_sweep_counts_feasible_as_solved_and_flags_them():
    import pandas as pd

    from optimizer.batch.sweep import SOLVED, sweep_counts
    table = pd.DataFrame({"status": ["optimal", "feasible", "infeasible", "no_plan", "failed"]})
    assert sweep_counts(table) == "1 optimal, 1 feasible (limit reached), 1 infeasible, 2 failed"
    assert set(SOLVED) == {"optimal", "feasible"}


def test_cost_stage_cut_off_by_a_time_limit_is_feasible_with_a_note(tmp_path, monkeypatch):
    """The value stage finishes, the cost stage is stopped by the time limit (forced here by a
    1e-9 s limit on the cost stage alone): the plan's value is optimal but its cost was not
    minimised, so the status is ``feasible`` with termination ``time_limit`` and a note."""
    from optimizer.planner import solve as planner
    f = write_scenario(tmp_path / "s", [site("A", "USA"), site("B", "USA")],
                       [chip(capex_usd=1.0)], [market("us", "USA", 50 * M)], policy="")
    monkeypatch.setattr(planner, "COST_STAGE_OPTIONS", {**planner.COST_STAGE_OPTIONS, "time_limit": 1e-9})
    plan = solve(load_scenario(f))
    assert plan.summary["status"] == "feasible" and plan.summary["termination"] == "time_limit"
    assert any(n.startswith("cost was not minimised: the cost stage stopped at the time limit; "
                            "the value is optimal") for n in plan.summary["notes"])
    r = CliRunner().invoke(app, ["solve", str(f), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "stopped by the time limit; the value is optimal but its cost was not minimised" in r.output
    assert "note: cost was not minimised" in r.output


def test_cbc_infeasible_at_its_time_limit_is_no_plan():
    """CBC stopped by its time limit before an integer plan may write "Integer infeasible"
    (PuLP: Infeasible). After the limit that is no proof: no_plan with termination time_limit
    (exit 4). Before the limit it stays a verdict."""
    from types import SimpleNamespace

    from optimizer.solvers.pulp_cbc import cbc_status
    prob = SimpleNamespace(status=pulp.LpStatusInfeasible, sol_status=pulp.LpSolutionInfeasible)
    assert cbc_status(prob, time_limit=0.05, seconds=0.06) == (Status.NO_PLAN, Termination.TIME_LIMIT)
    assert cbc_status(prob, time_limit=10.0, seconds=0.5)[0] == Status.INFEASIBLE
    assert cbc_status(prob, time_limit=None, seconds=0.5)[0] == Status.INFEASIBLE


def test_ortools_child_ignores_an_optimizer_package_in_the_working_folder(tmp_path, monkeypatch):
    """The child starts with -P: another optimizer package in the current folder (a stub that
    breaks on import here) must not shadow the parent's code."""
    (tmp_path / "optimizer").mkdir()
    (tmp_path / "optimizer" / "__init__.py").write_text("raise ImportError('the wrong optimizer package')\n")
    monkeypatch.chdir(tmp_path)
    assert GLOP.solve(INFEASIBLE_LP).status == Status.INFEASIBLE


def test_a_child_killed_by_a_signal_is_named():
    assert _why(-9, "") == "ended by signal SIGKILL (killed: often the system running out of memory)"
    assert _why(-15, "") == "ended by signal SIGTERM"
    assert _why(1, "warning\nValueError: bad\n") == "exit status 1: ValueError: bad"
