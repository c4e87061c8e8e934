"""The value stage's additions form (optimizer.model.additions): the same optimum as the fast
multi-period LP it rewrites, and a plan that maps back into that LP's rows and bounds."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import value_stage_model
from test_periods_agreement import random_timeline

from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline
from optimizer.model.additions import stock_additions, suffix_sums
from optimizer.model.fast_periods import build_fast_timeline, timeline_network, timeline_pools
from optimizer.model.periods import TimelineData
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.highs import HighsBackend
from optimizer.solvers.result import Status


def mapped_plan_within(lp, form, additions):
    """The form's plan mapped back to ``lp``'s columns, asserted within every row and bound of
    ``lp`` (those the form dropped too)."""
    x = form.original_x(additions.x)
    activity = lp.A @ x
    scale = 1e-7 * np.maximum(1.0, np.abs(lp.row_hi[np.isfinite(lp.row_hi)]).max())
    assert (activity >= lp.row_lo - scale).all() and (activity <= lp.row_hi + scale).all()
    assert (x >= lp.col_lo - 1e-9).all() and (x <= lp.col_hi + 1e-9).all()
    return x


def assert_same_value_stage(tl):
    td, fm = value_stage_model(tl)
    form = stock_additions(fm.fast.lp, [p.tag for p in td.periods])
    assert form is not None
    lp = fm.fast.lp
    original = HighsBackend().solve(lp, SolveOptions())
    additions = HighsBackend().solve(form.lp, SolveOptions())
    assert original.status == additions.status
    if original.status != Status.OPTIMAL:
        return
    assert additions.objective == pytest.approx(original.objective, rel=1e-9, abs=1e-9)
    x = mapped_plan_within(lp, form, additions)
    assert float(lp.c @ x) == pytest.approx(original.objective, rel=1e-9, abs=1e-9)
    # the stock's cost carries over (suffix sums), so the form's cost stage would price the same
    assert float(form.lp.cost @ additions.x) == pytest.approx(float(lp.cost @ x), rel=1e-9)
    assert float(lp.cost @ x) > 0
    duals = form.original_row_duals(additions.row_duals)
    assert np.isnan(duals[lp.row_blocks["stock" + td.periods[1].tag].slice]).all()
    assert not np.isnan(duals[lp.row_blocks["inventory" + td.periods[0].tag].slice]).any()


# seed 7's policies give different periods different country-total rows: no chain, so the
# form refuses and the value stage runs on the original LP
FALLS_BACK = {7}


@pytest.mark.parametrize("seed", range(10))
def test_additions_form_has_the_fast_optimum_on_random_timelines(tmp_path, seed):
    """Random timelines: sites energised later, rooms that shrink or grow twice (rows kept in
    more than the last period), caps, tier moves, deliveries."""
    tl = random_timeline(tmp_path, seed)
    if seed in FALLS_BACK:
        td, fm = value_stage_model(tl)
        assert stock_additions(fm.fast.lp, [p.tag for p in td.periods]) is None
        return
    assert_same_value_stage(tl)


def test_additions_form_on_a_generated_fleet(tmp_path):
    """Every pool steady: only the last period's room rows stay."""
    tl = load_timeline(generate_fleet(tmp_path / "fleet", sites=150, skus=4, seed=5, periods=4))
    td, fm = value_stage_model(tl)
    form = stock_additions(fm.fast.lp, [p.tag for p in td.periods])
    T, n_pools = len(td.periods), fm.pools[-1].n
    assert fm.merged.all()
    assert len(form.kept) == fm.fast.lp.num_row - (T - 1) * n_pools * (td.first.n_chips + 2)
    assert_same_value_stage(tl)


def assert_form_exact(lp, tags, two_stage=False):
    """The form of ``lp`` (if it gives one) has the same status, value and cost, and its plan
    maps back into every row and bound of ``lp``; returns whether there was a form."""
    form = stock_additions(lp, tags)
    if form is None:
        return False
    options = SolveOptions(two_stage=two_stage)
    original, additions = HighsBackend().solve(lp, options), HighsBackend().solve(form.lp, options)
    assert original.status == additions.status
    if original.status == Status.OPTIMAL:
        mapped_plan_within(lp, form, additions)
        assert additions.objective == pytest.approx(original.objective, rel=1e-7, abs=1e-9)
        if two_stage:
            assert additions.cost == pytest.approx(original.cost, rel=1e-6, abs=1e-9)
    return True


@pytest.mark.parametrize("seed", [0, 2, 5])
@pytest.mark.parametrize("dollars", [False, True])
@pytest.mark.parametrize("soft", [None, 0.3])
def test_additions_form_with_soft_limits_and_the_margin_objective(tmp_path, seed, dollars, soft):
    """The one-LP path's form: both stages, with priced violation columns (``--soft``, cheap
    enough to be used) and the margin objective (a cost on the stock in the value stage)."""
    from optimizer.model.data import Objective
    from optimizer.planner.periods import soft_rows
    from optimizer.planner.solve import soft_prices
    tl = random_timeline(tmp_path, seed, dollars=dollars)
    td = TimelineData.from_timeline(tl, Objective.MARGIN if dollars else Objective.SERVE)
    network = timeline_network(td)
    fm = build_fast_timeline(td, network=network, pools=timeline_pools(td, network.site_class))
    prices = None if soft is None else {k: soft * v for k, v in soft_prices(None, tl.first).items()}
    assert assert_form_exact(soft_rows(fm.fast.lp, td, prices), [p.tag for p in td.periods], two_stage=True)


def _with(lp, **arrays):
    from dataclasses import replace
    return replace(lp, **arrays)


def _retirement_allowed(lp, tags):
    lo = lp.row_lo.copy()
    lo[lp.row_blocks["stock" + tags[1]].slice] = -1.0
    return _with(lp, row_lo=lo)


def _with_entries(lp, entries, **arrays):
    """``lp`` with these (row, column, value) coefficients set (and ``arrays`` replaced)."""
    A = lp.A.tolil()
    for row, col, value in entries:
        A[row, col] = value
    return _with(lp, A=A.tocsr(), **arrays)


def _inventory_on_an_earlier_period(lp, tags):
    return _with_entries(lp, [(lp.row_blocks["inventory" + tags[1]].start, lp.var_blocks["x" + tags[0]].start, 1.0)])


def _negative_room(lp, tags):
    hi = lp.row_hi.copy()
    hi[lp.row_blocks["power" + tags[0]].start] = -1.0
    return _with(lp, row_hi=hi)


def _negative_room_coefficient(lp, tags):
    return _with_entries(lp, [(lp.row_blocks["power" + tag].start, lp.var_blocks["x" + tag].start, -0.5)
                              for tag in tags])


def _network_row_on_a_placement(lp, tags):
    return _with_entries(lp, [(lp.row_blocks["group_balance" + tags[0]].start, lp.var_blocks["x" + tags[0]].start, 1.0)])


@pytest.mark.parametrize("change", [_retirement_allowed, _inventory_on_an_earlier_period, _negative_room,
                                    _negative_room_coefficient, _network_row_on_a_placement])
def test_additions_form_refuses_rows_it_would_lose(tmp_path, change):
    """Rows the form cannot carry (a stock that may fall, a row reaching into another period's
    stock, a room below 0 or a negative room coefficient, which break the implied rooms, a row of
    another kind on a placement column): no form."""
    td, fm = value_stage_model(random_timeline(tmp_path, 0))
    tags = [p.tag for p in td.periods]
    assert stock_additions(fm.fast.lp, tags) is not None
    assert stock_additions(change(fm.fast.lp, tags), tags) is None


@pytest.mark.parametrize("seed", range(6))
def test_a_pool_with_only_some_chips_held_at_zero_keeps_its_room_rows(tmp_path, seed):
    """A chip held at 0 in a period does not make the pool's room rows there implied: its other
    chips may still hold stock."""
    td, fm = value_stage_model(random_timeline(tmp_path, seed))
    tags = [p.tag for p in td.periods]
    lp, C = fm.fast.lp, td.first.n_chips
    hi = lp.col_hi.copy()
    for tag in tags[:2]:
        hi[lp.var_blocks["x" + tag].start + np.arange(0, lp.var_blocks["x" + tag].size, C)] = 0.0
    assert assert_form_exact(_with(lp, col_hi=hi), tags)


def test_a_room_row_touching_an_open_column_of_another_pool_stays(tmp_path):
    """A room row is dropped for a period only if every stock column it touches is held at 0
    there, whatever the layout: pool 0 held at 0 in the first period, but its power row (room 0
    there) also touches pool 1's first chip, which is open; the form must keep that row (it let
    pool 1's chip break it before)."""
    td, fm = value_stage_model(random_timeline(tmp_path, 0))
    tags = [p.tag for p in td.periods]
    lp, C = fm.fast.lp, td.first.n_chips
    hi, room = lp.col_hi.copy(), lp.row_hi.copy()
    x0 = lp.var_blocks["x" + tags[0]].start
    hi[x0:x0 + C] = 0.0
    room[lp.row_blocks["power" + tags[0]].start] = 0.0
    most = np.zeros(lp.num_col)
    most[x0 + C] = 1.0                        # as much of pool 1's first chip in the first period as allowed: 0
    reaching = [(lp.row_blocks["power" + tag].start, lp.var_blocks["x" + tag].start + C, 1.0) for tag in tags]
    assert assert_form_exact(_with_entries(lp, reaching, c=most, col_hi=hi, row_hi=room), tags)


def test_a_timeline_with_no_serving_class_solves(tmp_path):
    """No site can serve any market (every class-serving block empty): the form has empty
    families and the fast path still gives the empty plan (it raised before)."""
    from helpers import M, chip, market, site, write_scenario
    from timeline_helpers import timeline_from

    from optimizer.planner.periods import solve_timeline
    folder = write_scenario(tmp_path, [site("S0", "USA", lat=40.0, lon=-100.0, power_mw=0.05, racks=8.0)],
                            [chip("H", inventory=40.0, capex_usd=2.0)],
                            [market("m0", "IND", 50 * M, lat=20.0, lon=78.0, max_rtt_ms=5.0, value=1.0)],
                            installed=None)
    tl = timeline_from(folder, [(f"P{t}", 0.5, 1.0, {"demand": {"m0": 50 * M}}) for t in range(2)])
    sol = solve_timeline(tl, path="fast")
    assert sol.summary["objective"] == 0.0
    assert sol.summary["model"]["site_classes"] == 0
    assert "additions_variables" in sol.summary["model"]


@pytest.mark.parametrize("shape, axis", [((7, 5), 0), ((40, 12, 9), 1), ((3, 1, 4), 1), ((0, 12, 3), 1), ((6, 0), 0),
                                         ((5,), 0), ((4, 6, 3), -2)])
def test_suffix_sums_are_the_reversed_cumsum_bit_for_bit(shape, axis):
    """S_τ = Σ_{t>=τ} a_t, added in the reversed cumsum's order (pricing and the additions' costs
    read it; a different order would move optima by rounding only, but reruns must not)."""
    a = np.random.default_rng(len(shape) + axis).normal(size=shape) * 10.0 ** np.arange(shape[-1])
    expected = np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)
    got = suffix_sums(a, axis)
    assert got.shape == a.shape and np.array_equal(got, expected)


@pytest.mark.parametrize("n, dropped", [(10, [3, 3, 0, 9]), (5, []), (0, []), (7, list(range(7)))])
def test_all_but_is_setdiff1d(n, dropped):
    """An LP's rows or columns less some (repeats allowed), ascending, as np.setdiff1d gives them."""
    from optimizer.model.lp import all_but
    expected = np.setdiff1d(np.arange(n), np.array(dropped, dtype=np.int64))
    got = all_but(n, np.array(dropped, dtype=np.int64))
    assert np.array_equal(got, expected) and got.dtype.kind == "i"
