"""The multi-period cost stage by site blocks (optimizer.model.costsplit_periods): value stage on
cost-blind pools, cost stage by column generation over site stock sequences. It must give the
plain multi-period formulation's optimum (value 1e-9, cost 1e-7 relative) and a plan that keeps
every rule in every period; the pricing step must be each site's true cheapest sequence."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from test_periods_agreement import assert_period_rules, random_timeline

import optimizer.planner.periods as periods
from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline
from optimizer.model.costsplit import SiteBlocks
from optimizer.model.costsplit_periods import TimelineCostStage
from optimizer.model.lp import LinearProgram
from optimizer.planner.periods import solve_timeline
from optimizer.results.check import check_timeline_plan
from optimizer.solvers import highs


def cheapest_by_lp(reduced: np.ndarray, start: int, power: float, racks: float, p: np.ndarray,
                   r: np.ndarray) -> float:
    """min Σ_t r_t·x_t over x_t = 0 (t < start), x_t <= x_{t+1}, p·x_t <= power, r·x_t <= racks, x >= 0,
    as an LP on HiGHS (the definition the pricing step must meet)."""
    T, C = reduced.shape
    rows, lo, hi = [], [], []
    for t in range(T):
        rows.append(np.concatenate([np.zeros(t * C), p, np.zeros((T - t - 1) * C)]))
        rows.append(np.concatenate([np.zeros(t * C), r, np.zeros((T - t - 1) * C)]))
        lo += [-np.inf, -np.inf]
        hi += [power, racks]
        if t:
            for c in range(C):
                row = np.zeros(T * C)
                row[t * C + c], row[(t - 1) * C + c] = 1.0, -1.0
                rows.append(row)
                lo.append(0.0)
                hi.append(np.inf)
    col_hi = np.where(np.repeat(np.arange(T), C) < start, 0.0, np.inf)
    lp = LinearProgram(A=sp.csr_matrix(np.array(rows)), c=-reduced.ravel(), cost=np.zeros(T * C),
                       col_lo=np.zeros(T * C), col_hi=col_hi, row_lo=np.array(lo), row_hi=np.array(hi),
                       var_blocks={}, row_blocks={}, cost_scale=1.0, cost_offset=0.0)
    result = highs.solve_lp(lp, lexicographic=False)
    return -float(result.objective) if result.objective is not None else float("nan")


@pytest.mark.parametrize("seed", range(6))
def test_pricing_finds_each_sites_cheapest_stock_sequence(seed):
    """The suffix-sum pricing (module docstring) against the LP over every monotone sequence."""
    rng = np.random.default_rng(seed)
    S, T, C = 7, 4, 3
    p, r = rng.uniform(0.5, 2.0, C), rng.uniform(0.1, 1.0, C)
    power, racks = rng.uniform(0.5, 5.0, S), rng.uniform(0.5, 5.0, S)
    start = rng.integers(0, T, S)
    reduced = rng.normal(0.0, 1.0, (S, T * C))
    blocks = SiteBlocks(np.arange(S), np.arange(S), S, power, racks, np.zeros((S, T * C)), None,
                        np.arange(0), np.arange(0))
    stage = TimelineCostStage(blocks, p, r, np.zeros((S, T * C)), start=start, n_periods=T)
    best, y = stage.cheapest(reduced)
    for s in range(S):
        x = y[s].reshape(T, C)
        assert (x[:start[s]] == 0).all()
        assert (np.diff(x, axis=0) >= -1e-12).all()
        assert (x @ p <= power[s] + 1e-9).all() and (x @ r <= racks[s] + 1e-9).all()
        assert float((reduced[s] * y[s]).sum()) == pytest.approx(best[s], abs=1e-9)
        assert best[s] == pytest.approx(cheapest_by_lp(reduced[s].reshape(T, C), start[s], power[s], racks[s], p, r),
                                         abs=1e-7)


def plain_and_blocks(tl, monkeypatch):
    plain = solve_timeline(tl, path="plain")
    monkeypatch.setattr(periods, "timeline_costs_split_pools", lambda td, network: True)
    blocks = solve_timeline(tl, path="fast")
    return plain, blocks


def assert_same_optimum(plain, blocks):
    assert blocks.summary["objective"] == pytest.approx(plain.summary["objective"], rel=1e-9)
    assert blocks.summary["cost"]["discounted_usd"] == pytest.approx(plain.summary["cost"]["discounted_usd"], rel=1e-7)


@pytest.mark.parametrize("seed", range(8))
def test_blocks_give_the_plain_optimum_on_random_timelines(tmp_path, monkeypatch, seed):
    """Random timelines with a random energy price per site (dollars=True), co-located sites
    energised later (steady: decomposed), sites whose room shrinks or grows twice (their own
    pools in the master), caps, tier moves and deliveries; the serve objective."""
    tl = random_timeline(tmp_path, seed, dollars=True)
    try:
        plain, blocks = plain_and_blocks(tl, monkeypatch)
    except periods.InfeasibleError:
        return
    assert "cost_blocks" in blocks.summary["model"]
    assert_same_optimum(plain, blocks)
    assert_period_rules(tl, blocks)


def test_per_site_generated_fleet_takes_the_blocks_and_passes_check(tmp_path):
    """A generated per-site multi-period fleet picks the decomposition by itself (pooling by cost
    leaves one pool per site) and gives the plain optimum; the plan passes check in every period."""
    folder = generate_fleet(tmp_path / "fleet", sites=150, skus=4, seed=5, periods=4, tariffs="site")
    tl = load_timeline(folder)
    blocks = solve_timeline(tl, path="fast")
    assert blocks.summary["model"]["cost_blocks"] > 0
    assert blocks.summary["status"] == "optimal"
    plain = solve_timeline(tl, path="plain")
    assert_same_optimum(plain, blocks)
    report = check_timeline_plan(tl, blocks.placement, blocks.service)
    assert report.ok, report.failures()


def test_metro_fleet_keeps_one_lp(tmp_path):
    """Metro tariffs: pools by cost are about as few as without, so both stages run on one LP."""
    folder = generate_fleet(tmp_path / "fleet", sites=150, skus=4, seed=5, periods=3)
    plan = solve_timeline(load_timeline(folder), path="fast")
    assert "cost_blocks" not in plan.summary["model"]
