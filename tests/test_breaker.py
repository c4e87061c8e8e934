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


def test_timeline_report_value_is_not_per_year(tmp_path):
    """A multi-period report's value is Σ_t years_t·discount_t·value_t: its unit is the value unit
    times years ("abstract value units x years", USD for dollars), never the per-year unit."""
    import re

    from typer.testing import CliRunner

    from cli import app
    runner = CliRunner()
    scn = tmp_path / "scn"
    assert runner.invoke(app, ["generate", str(scn), "--sites", "20", "--skus", "2", "--seed", "3", "--periods", "2"]).exit_code == 0
    r = runner.invoke(app, ["solve", str(scn), "--out", str(tmp_path / "plan"), "--report", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    text = re.sub(r"<[^>]+>", " ", (tmp_path / "r.html").read_text())
    line = re.search(r"value [\d,]+ [^(]*\(each period", text).group(0)
    assert "abstract value units x years" in line and "per year" not in line, line


def test_timeline_mip_build_rows_are_finite(tmp_path):
    """The fast multi-period model leaves early power and rack rows open (inf) when a later
    period's row bounds the same stock; the build rows -room·z must still get finite rooms."""
    import sys
    from pathlib import Path

    import numpy as np
    sys.path.insert(0, str(Path(__file__).parent / "adversarial"))
    from cases_breaker import TIMELINE
    from cases_columns import add_column
    from harness import good_scenario

    from optimizer.inputs.timeline import load_timeline
    from optimizer.model.periods import TimelineData
    from optimizer.planner.integer_periods import build_timeline_mip
    good_scenario(tmp_path / "scn")
    TIMELINE(tmp_path)
    add_column("sites.csv", "fixed_cost_usd", ["100", "200", "300"])(tmp_path)
    mip = build_timeline_mip(TimelineData.from_timeline(load_timeline(tmp_path / "scn"), "serve"), fast=True)
    assert np.isfinite(mip.lp.A.data).all() and np.isfinite(mip.room_power).all()
