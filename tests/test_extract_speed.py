"""Shortcuts on the way from a solved model to the plan's tables and explanation: each gives what
the general computation it skips gives."""
from __future__ import annotations

import dataclasses

import numpy as np

from optimizer import load_scenario
from optimizer.analysis.explain import _costs_more_than_it_earns
from optimizer.bench.generate import generate_fleet
from optimizer.model.data import ModelData, Objective


def _dearer_by_the_general_formula(d: ModelData, eligible: np.ndarray) -> np.ndarray:
    """value_m < min over eligible open sites of the cheapest margin cost per TPP (inf: none)."""
    stocked = d.scenario.chips["inventory"].to_numpy(float) > 0
    cheapest = np.full(d.n_sites, np.inf)
    cheapest[d.open_sites] = (d.margin_cost[:, stocked] / d.tpp[stocked])[d.open_sites].min(axis=1)
    reach = np.where(eligible, cheapest[:, None], np.inf).min(axis=0)
    return d.scenario.markets["value"].to_numpy(float) < reach


def test_serve_objective_markets_beyond_reach_match_the_general_formula(tmp_path):
    """Under the serve objective no unit costs anything in the value stage, so a market is
    'dearer' exactly when no open site may serve it; the fleet has both kinds of market, and
    more of the second with most sites closed."""
    s = load_scenario(generate_fleet(tmp_path / "f", sites=300, skus=4, seed=2))
    d = ModelData.from_scenario(s, Objective.SERVE)
    eligible = np.unpackbits(d.eligibility, axis=1, count=len(s.markets)).astype(bool)
    got = _costs_more_than_it_earns(d, eligible)
    assert 0 < got.sum() < len(got)
    assert np.array_equal(got, _dearer_by_the_general_formula(d, eligible))
    fewer = dataclasses.replace(d, open_sites=d.open_sites[:10])        # most sites closed: more beyond reach
    got_fewer = _costs_more_than_it_earns(fewer, eligible)
    assert got_fewer.sum() > got.sum()
    assert np.array_equal(got_fewer, _dearer_by_the_general_formula(fewer, eligible))
