"""Splitting a pool's units among its sites (optimizer.solvers.highs.solve_feasibility): the
pool's units come from an LP solved to a feasibility tolerance, so a target a hair above the sum
of the sites' rooms is split with a shortfall far below any audit tolerance; a target really
beyond the rooms is still an error."""
from __future__ import annotations

import numpy as np
import pytest

from optimizer.errors import SolverError
from optimizer.solvers.highs import SPLIT_SHORTFALL_REL, solve_feasibility

ROOM = 10.0


def two_site_pool(target: float):
    """One chip (1 MW a unit) over two sites with ROOM MW each: y0 + y1 = target, y <= ROOM."""
    rows = np.array([0, 0, 1, 2])
    cols = np.array([0, 1, 0, 1])
    vals = np.ones(4)
    return rows, cols, vals, 2, np.array([target, -np.inf, -np.inf]), np.array([target, ROOM, ROOM])


def test_exact_split_when_the_target_fits():
    y = solve_feasibility(*two_site_pool(15.0))
    assert y.sum() == pytest.approx(15.0, abs=1e-12) and (y <= ROOM + 1e-12).all()


def test_a_target_above_the_rooms_by_a_solver_tolerance_is_split_with_a_tiny_shortfall():
    """1e-6 MW over the rooms: beyond HiGHS's feasibility tolerance (1e-7), so the exact split is
    infeasible; the split keeps every site within its room and leaves 5e-8 of the target."""
    target = 2 * ROOM * (1 + 5e-8)
    y = solve_feasibility(*two_site_pool(target))
    assert (y <= ROOM + 1e-12).all()
    assert 0 < target - y.sum() <= SPLIT_SHORTFALL_REL * target


def test_a_target_really_beyond_the_rooms_is_an_error():
    with pytest.raises(SolverError, match="splitting pooled placements"):
        solve_feasibility(*two_site_pool(2 * ROOM * 1.001))
