"""Every registered backend on a grid of tiny LPs and MIPs with known answers (as cvxpy's
StandardTestLPs): status, objective, primal values where unique, and duals where the backend
reports them and they are unique, in the contract's sign convention (objective gained per unit
increase of a row's or column's active bound, for this maximization). Plus the contract's
refusals, the registry, and the HiGHS warm session against the one-shot solve."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer.model.lp import LinearProgram
from optimizer.solvers.contract import SolveOptions, UnsupportedOption
from optimizer.solvers.highs import HIGHS
from optimizer.solvers.registry import REGISTRY, backend, names_with
from optimizer.solvers.result import Status

INF = np.inf


def lp(A, c, row_lo, row_hi, col_lo=None, col_hi=None, cost=None) -> LinearProgram:
    A = sp.csr_matrix(np.array(A, float))
    n = A.shape[1]
    return LinearProgram(
        A=A, c=np.array(c, float), cost=np.zeros(n) if cost is None else np.array(cost, float),
        col_lo=np.zeros(n) if col_lo is None else np.array(col_lo, float),
        col_hi=np.full(n, INF) if col_hi is None else np.array(col_hi, float),
        row_lo=np.array(row_lo, float), row_hi=np.array(row_hi, float), var_blocks={}, row_blocks={})


@dataclass(frozen=True)
class Known:
    """A problem and its known answer (None: not unique or not checked)."""

    lp: LinearProgram
    status: Status
    objective: float | None = None
    x: tuple | None = None
    row_duals: tuple | None = None
    col_duals: tuple | None = None
    integrality: tuple | None = None


LPS = {
    # max 3x + 2y, x + y <= 4, x + 3y <= 6, x <= 3 (bound): x = 3, y = 1, z = 11; only row 1 and the
    # bound on x bind at a unique dual: y1 = 2 (from y), reduced cost of x = 3 - 2 = 1
    "unique": Known(lp([[1, 1], [1, 3]], [3, 2], [-INF, -INF], [4, 7], col_hi=[3, INF]), Status.OPTIMAL,
                    11.0, (3.0, 1.0), (2.0, 0.0), (1.0, 0.0)),
    # a >= row in a maximization: max -x - 2y, x + y >= 2: x = 2, z = -2, dual -1 (<= 0), rc of y -1
    "greater_equal": Known(lp([[1, 1]], [-1, -2], [2], [INF]), Status.OPTIMAL, -2.0, (2.0, 0.0), (-1.0,), (0.0, -1.0)),
    # an equality row: max x + 2y, x + y = 3, y <= 1 (bound): x = 2, y = 1, z = 4, dual 1, rc of y 1
    "equality": Known(lp([[1, 1]], [1, 2], [3], [3], col_hi=[INF, 1]), Status.OPTIMAL, 4.0, (2.0, 1.0), (1.0,), (0.0, 1.0)),
    # a free variable: max x - y, y >= -3 (row), x + y <= 10, x <= 2 (bound), y free: x = 2,
    # y = -3, z = 5; dual of y >= -3 is -1, reduced cost of x 1
    "free_variable": Known(lp([[0, 1], [1, 1]], [1, -1], [-3, -INF], [INF, 10], col_lo=[0, -INF], col_hi=[2, INF]),
                           Status.OPTIMAL, 5.0, (2.0, -3.0), (-1.0, 0.0), (1.0, 0.0)),
    # a ranged row 1 <= x + y <= 3 binding at its upper end: max x + y: z = 3, dual +1; at its
    # lower end (min, i.e. max -x - y): z = -1, dual -1
    "ranged_upper": Known(lp([[1, 1]], [1, 1], [1], [3]), Status.OPTIMAL, 3.0, None, (1.0,), None),
    "ranged_lower": Known(lp([[1, 1]], [-1, -1], [1], [3]), Status.OPTIMAL, -1.0, None, (-1.0,), None),
    # column bounds binding: max 2x + y, x <= 1, y <= 2 (bounds), x + y <= 10: rc 2 and 1, dual 0
    "bounds_bind": Known(lp([[1, 1]], [2, 1], [-INF], [10], col_hi=[1, 2]), Status.OPTIMAL, 4.0, (1.0, 2.0),
                         (0.0,), (2.0, 1.0)),
    "infeasible": Known(lp([[1, 1], [1, 0]], [1, 1], [-INF, 5], [3, INF], col_hi=[10, 10]), Status.INFEASIBLE),
    "unbounded": Known(lp([[1, -1]], [1, 0], [-INF], [0]), Status.UNBOUNDED),
    # degenerate: three rows through the optimum (x + y <= 2, x <= 1, y <= 1 as rows): z = 2,
    # duals not unique
    "degenerate": Known(lp([[1, 1], [1, 0], [0, 1]], [1, 1], [-INF] * 3, [2, 1, 1]), Status.OPTIMAL, 2.0, (1.0, 1.0)),
}

MIPS = {
    # max 5x + 4y, 6x + 4y <= 24, x + 2y <= 6, integers: LP optimum (3, 1.5) = 21; MIP: (4, 0) = 20
    "knapsack": Known(lp([[6, 4], [1, 2]], [5, 4], [-INF, -INF], [24, 6]), Status.OPTIMAL, 20.0, (4.0, 0.0),
                      integrality=(1, 1)),
    # 2x = 3 has no integer solution (its LP relaxation does)
    "infeasible": Known(lp([[2]], [1], [3], [3], col_hi=[10]), Status.INFEASIBLE, integrality=(1,)),
    # a continuous column beside an integer one: max x + y, x + y <= 2.5, x <= 1.7 (row), x integer
    "mixed": Known(lp([[1, 1], [1, 0]], [1, 1], [-INF, -INF], [2.5, 1.7]), Status.OPTIMAL, 2.5, None, integrality=(1, 0)),
}

# PDLP is a first-order method: its optimum is close, not exact
TOLERANCE = {"ortools-pdlp": 1e-6, "cbc": 1e-6}


def tol(name: str) -> float:
    return TOLERANCE.get(name, 1e-9)


def _solve(name: str, case: Known, **options):
    integrality = None if case.integrality is None else np.array(case.integrality, np.int32)
    return backend(name).solve(case.lp, SolveOptions(**options), integrality)


def _check(name: str, case: Known, result) -> None:
    if case.status == Status.UNBOUNDED:   # never a plan, never "infeasible" (PDLP: no_plan, it
        assert not result.status.has_solution and result.status != Status.INFEASIBLE   # stops unsure)
        return
    assert result.status == case.status, (name, result.status, result.message)
    if case.objective is None:
        return
    t = tol(name)
    assert result.objective == pytest.approx(case.objective, rel=t, abs=t)
    for got, want in zip(result.x, case.x or ()):
        if want is not None:
            assert got == pytest.approx(want, rel=t, abs=t)
    if backend(name).capabilities.duals and case.integrality is None:
        for got, want in zip(result.row_duals, case.row_duals or ()):
            assert got == pytest.approx(want, rel=t, abs=t), ("row dual", name)
        for got, want in zip(result.col_duals, case.col_duals or ()):
            assert got == pytest.approx(want, rel=t, abs=t), ("reduced cost", name)


@pytest.mark.parametrize("name", names_with("lp"))
@pytest.mark.parametrize("case", LPS)
def test_lp_grid(name, case):
    _check(name, LPS[case], _solve(name, LPS[case]))


@pytest.mark.parametrize("name", names_with("mip"))
@pytest.mark.parametrize("case", MIPS)
def test_mip_grid(name, case):
    _check(name, MIPS[case], _solve(name, MIPS[case], gap=0.0))


@pytest.mark.parametrize("name", names_with("two_stage"))
def test_cost_stage_picks_the_cheapest_optimum(name):
    """max x + y, x + y <= 2 (every split optimal); cost 3x + y: the cost stage takes y = 2."""
    case = lp([[1, 1]], [1, 1], [-INF], [2], cost=[3, 1])
    result = backend(name).solve(case, SolveOptions(two_stage=True))
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(2.0, rel=1e-6)
    assert result.cost == pytest.approx(2.0, rel=1e-6, abs=1e-6)


def test_registry_matches_the_backend_objects():
    """The capabilities listed without importing a backend are the backend's own."""
    for name, entry in REGISTRY.items():
        found = backend(name)
        assert found.name == name and found.capabilities == entry.capabilities


@pytest.mark.parametrize("name,options,mip", [
    ("ortools-glop", {"gap": 0.01}, False),               # a gap on an LP
    ("ortools-glop", {"native": {"presolve": "off"}}, False),   # HiGHS names elsewhere
    ("ortools-glop", {"ranging": True}, False),
    ("ortools-scip", {"two_stage": True}, True),          # SCIP maximizes value only
    ("ortools-scip", {}, False),                          # SCIP takes no LP
    ("ortools-glop", {}, True),                           # GLOP takes no MIP
    ("cbc", {"two_stage": True}, False),
    ("highs", {"gap": 0.01}, False),
])
def test_an_option_a_backend_cannot_honour_is_refused(name, options, mip):
    case = MIPS["knapsack"] if mip else LPS["unique"]
    integrality = np.ones(case.lp.num_col, np.int32) if mip else None
    with pytest.raises(UnsupportedOption, match=name):
        backend(name).solve(case.lp, SolveOptions(**options), integrality)


def test_warm_session_equals_one_shot_solve():
    """The warm session and the one-shot solve run the same two-stage routine: the same plan,
    objective and cost, bit for bit, on a first (cold) and a changed (warm) LP."""
    base = lp([[1, 1], [1, 3]], [3, 2], [-INF, -INF], [4, 7], col_hi=[3, INF], cost=[1, 2])
    moved = lp([[1, 1], [1, 3]], [3, 2], [-INF, -INF], [5, 7], col_hi=[3, INF], cost=[1, 2])
    warm = HIGHS.warm_start()
    options = SolveOptions(two_stage=True)
    for case in (base, moved):
        a, b = warm.solve(case, options), HIGHS.solve(case, options)
        assert a.status == b.status == Status.OPTIMAL
        assert a.objective == b.objective and a.cost == b.cost and np.array_equal(a.x, b.x)
    assert (warm.cold_solves, warm.warm_solves) == (1, 1)


def test_integer_choices_accept_enums_or_values_and_refuse_others():
    from optimizer import InputError
    from optimizer.planner.integer import IntegerMethod, MipSolver
    from optimizer.planner.solve import integer_choice
    assert integer_choice("round", "highs") == (IntegerMethod.ROUND, MipSolver.HIGHS)
    assert integer_choice("auto", "cbc") == (IntegerMethod.AUTO, MipSolver.CBC)
    assert integer_choice(IntegerMethod.EXACT, MipSolver.ORTOOLS) == (IntegerMethod.EXACT, MipSolver.ORTOOLS)
    with pytest.raises(InputError, match="--method must be exact, round or auto and --solver highs, ortools or cbc"):
        integer_choice("guess", "highs")
    for solver in ("cbc", "ortools"):     # round solves on HiGHS: --solver would be dropped silently
        with pytest.raises(InputError, match=f"--solver {solver} with --method round: the round method solves"):
            integer_choice("round", solver)


def test_integer_cbc_keeps_build_decisions(tmp_path):
    """CBC takes the same rack MIP as HiGHS and SCIP, build decisions included. Site A may get
    new units only if at least min_new_mw (30 units) of them, but only 10 exist: the plan is
    empty. (The algebraic CBC model used before had no build decisions: it placed the 10 units
    at A, a plan the checker refuses, with status optimal.)"""
    from helpers import M, chip, market, site, write_scenario

    from optimizer import check_plan, load_scenario, solve
    f = write_scenario(tmp_path, [site("A", "USA", min_new_mw=0.03)], [chip(inventory=10, capex_usd=1.0)],
                       [market("us", "USA", 10 * M)], policy="")
    s = load_scenario(f)
    plan = solve(s, integer=True, method="exact", mip_solver="cbc")
    assert plan.summary["objective"] == pytest.approx(0.0, abs=1e-6)
    assert check_plan(s, plan.placement, plan.service, integer=True).ok
    assert plan.summary["integer"]["bound"] is None and "no bound" in plan.summary["integer"]["note"]

