"""The cost stage by site blocks starts from the value stage's pools split among their sites; that
split is the cheapest one at the sites' own costs (snapshot and multi-period), and over periods
the earlier stock goes to a pool's cheaper sites first. Any split is exact (the cost stage proves
its optimum: the block tests in test_costsplit.py and test_periods_costsplit.py); these tests pin
the start itself."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
from scipy.optimize import linprog

from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline
from optimizer.model.additions import stock_additions
from optimizer.model.data import Objective
from optimizer.model.fast_periods import build_fast_timeline, split_timeline_pools, timeline_network, timeline_pools
from optimizer.model.periods import TimelineData
from optimizer.model.pools import split_pools
from optimizer.planner import periods
from optimizer.solvers import highs
from optimizer.solvers.contract import SolveOptions
from optimizer.solvers.highs import HIGHS


@pytest.fixture(scope="module")
def per_site_value_stage(tmp_path_factory):
    """The value stage of a generated per-site fleet over 4 quarters on its cost-blind pools
    (several pools merge sites that cost differently)."""
    folder = generate_fleet(tmp_path_factory.mktemp("fleet") / "f", sites=200, skus=4, seed=3, periods=4,
                            tariffs="site")
    td = TimelineData.from_timeline(load_timeline(folder), Objective.SERVE)
    network = timeline_network(td)
    fm = build_fast_timeline(td, network=network, pools=timeline_pools(td, network.site_class, by_cost=False))
    lp = fm.fast.lp
    form = stock_additions(lp, [p.tag for p in td.periods])
    options = SolveOptions(native=MappingProxyType(periods.timeline_highs_options(td, lp)))
    result = periods._on_original(form, HIGHS.solve(form.lp, options))
    x_pool = periods.pool_stock(td, lp, result.x)
    return td, fm, x_pool


def horizon_cost(td: TimelineData) -> np.ndarray:
    """w[s,c]: a unit's cost held over the whole horizon."""
    return sum(td.stock_cost(t) for t in range(len(td.periods)))


def cheapest_split_cost(d, pools, x_pool: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """The cheapest split's cost of the multi-site pools' units by an independent LP (scipy), and
    the sites of those pools."""
    members = np.flatnonzero(pools.pool_of_site >= 0)
    size = np.bincount(pools.pool_of_site[members], minlength=pools.n)
    multi = members[size[pools.pool_of_site[members]] > 1]
    n, C = len(multi), d.n_chips
    power_left = d.scenario.sites["power_mw"].to_numpy(float) - d.inst_power
    racks_left = d.scenario.sites["racks"].to_numpy(float) - d.inst_racks
    pools_used = np.unique(pools.pool_of_site[multi])
    A_eq = np.zeros((len(pools_used) * C, n * C))
    for i, s in enumerate(multi):
        k = np.searchsorted(pools_used, pools.pool_of_site[s])
        A_eq[k * C + np.arange(C), i * C + np.arange(C)] = 1.0
    A_ub = np.zeros((2 * n, n * C))
    for i in range(n):
        A_ub[i, i * C:(i + 1) * C] = d.power
        A_ub[n + i, i * C:(i + 1) * C] = d.racks
    res = linprog(w[multi].ravel(), A_ub=A_ub, b_ub=np.concatenate([power_left[multi], racks_left[multi]]),
                  A_eq=A_eq, b_eq=np.maximum(x_pool[pools_used], 0).ravel(), bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun), multi


def test_pools_split_at_the_cheapest_cost(per_site_value_stage):
    """With a cost, the last period's split costs what an independent LP says is the least;
    without, it is only feasible (and here dearer: the test would pass on the old split too if
    not)."""
    td, fm, x_pool = per_site_value_stage
    w = horizon_cost(td)
    pools = fm.pools[-1]
    best, multi = cheapest_split_cost(td.last, pools, x_pool[-1], w)
    cheap = split_pools(td.last, pools, np.maximum(x_pool[-1], 0), highs.solve_feasibility, w)
    any_split = split_pools(td.last, pools, np.maximum(x_pool[-1], 0), highs.solve_feasibility)
    assert float((w[multi] * cheap[multi]).sum()) == pytest.approx(best, rel=1e-9)
    assert float((w[multi] * any_split[multi]).sum()) > best * (1 + 1e-6)
    for split in (cheap, any_split):      # both split every pool's units exactly
        summed = np.zeros_like(x_pool[-1])
        np.add.at(summed, pools.pool_of_site[pools.pool_of_site >= 0], split[pools.pool_of_site >= 0])
        np.testing.assert_allclose(summed, np.maximum(x_pool[-1], 0), rtol=1e-9, atol=1e-9)


def test_earlier_stock_fills_a_pools_cheaper_sites_first(per_site_value_stage):
    """Northwest by cost: in every period, chip and merged pool, a site holds stock below its
    last-period share only if every dearer site of its pool holds none; the split still sums to
    the pool's stock and never falls."""
    td, fm, x_pool = per_site_value_stage
    x_site = split_timeline_pools(td, fm, x_pool, highs.solve_feasibility, by_cost=True)
    rank = horizon_cost(td).mean(axis=1)
    pos = fm.pools[-1].pool_of_site
    checked = 0
    for p in np.flatnonzero(fm.merged):
        sites = np.flatnonzero(pos == p)
        if len(sites) < 2 or len(np.unique(rank[sites])) < 2:
            continue
        sites = sites[np.argsort(rank[sites], kind="stable")]
        for t in range(len(td.periods) - 1):
            assert np.all(x_site[t][sites] <= x_site[t + 1][sites] + 1e-9)
            np.testing.assert_allclose(x_site[t][sites].sum(axis=0), np.maximum(x_pool[t][p], 0), atol=1e-9)
            partial = x_site[t][sites] < x_site[-1][sites] - 1e-9            # below its share
            for c in range(td.first.n_chips):
                first_partial = np.flatnonzero(partial[:, c])
                if len(first_partial):
                    assert np.all(x_site[t][sites[first_partial[0] + 1:], c] <= 1e-9)
                    checked += int(x_site[t][sites[first_partial[0]], c] > 0) + len(sites) - first_partial[0] - 1
    assert checked > 0          # the fleet has pools whose stock grows over the periods
