"""The value stage's additions form (optimizer.model.additions): the same optimum as the fast
multi-period LP it rewrites, and a plan that maps back into that LP's rows and bounds."""
from __future__ import annotations

import numpy as np
import pytest
from test_periods_agreement import random_timeline

from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline
from optimizer.model.additions import stock_additions
from optimizer.model.fast_periods import build_fast_timeline, timeline_network, timeline_pools
from optimizer.model.periods import TimelineData
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.highs import HighsBackend
from optimizer.solvers.result import Status


def value_stage_model(tl):
    """The blocks path's value-stage model: pools that ignore cost."""
    td = TimelineData.from_timeline(tl)
    network = timeline_network(td)
    return td, build_fast_timeline(td, network=network, pools=timeline_pools(td, network.site_class, by_cost=False))


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
    x = form.original_x(additions.x)
    activity = lp.A @ x
    scale = 1e-7 * np.maximum(1.0, np.abs(lp.row_hi[np.isfinite(lp.row_hi)]).max())
    assert (activity >= lp.row_lo - scale).all() and (activity <= lp.row_hi + scale).all()
    assert (x >= lp.col_lo - 1e-9).all() and (x <= lp.col_hi + 1e-9).all()
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
