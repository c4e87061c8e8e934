"""Bugs a careless capacity planner found in this session's money and multi-period features (each
test failed before its fix)."""
from __future__ import annotations

import pandas as pd
import pytest

from optimizer.batch.compare import tier_move_ranking


def moves_table(kind: str, margin_column: str) -> pd.DataFrame:
    """A base and two tier moves: ISR gains more revenue than IND but less margin."""
    return pd.DataFrame({"variant": ["base", "isr", "ind"], "status": "optimal", "objective_kind": kind,
                         "param:tier.ISR": [None, 1, None], "param:tier.IND": [None, None, 1],
                         "objective": [3.0e9, 3.3e9, 3.1e9], margin_column: [2.0e9, 2.02e9, 2.14e9]})


@pytest.mark.parametrize("margin_column", ["margin_usd_per_year", "margin_usd"])
def test_margin_sweep_ranks_tier_moves_by_margin(margin_column):
    """A --objective margin sweep maximises the margin, so a move's value is the margin it gains
    (snapshot rows: margin_usd_per_year; multi-period rows: margin_usd), not the revenue."""
    ranking = tier_move_ranking(moves_table("margin", margin_column)).set_index("country")
    assert list(ranking.index) == ["IND", "ISR"]
    assert ranking["value_of_move"].to_dict() == pytest.approx({"IND": 1.4e8, "ISR": 2e7})
    assert set(ranking["ranked_by"]) == {margin_column}


def test_serve_sweep_ranks_tier_moves_by_value_served():
    ranking = tier_move_ranking(moves_table("serve", "margin_usd_per_year")).set_index("country")
    assert list(ranking.index) == ["ISR", "IND"] and set(ranking["ranked_by"]) == {"objective"}
