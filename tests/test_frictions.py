"""Issue 12's small frictions in the numbers: written tables without float noise (rounded in one
place, the checker still passing), a baseline that matches the plan reporting zeros, a sku left a
fraction of a unit short by the cost stage counted as used up, the tier-move ranking without
``-0`` and saying when it is cut."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import check_plan, load_scenario, read_plan, solve, write_plan
from optimizer.batch.compare import tier_move_ranking
from optimizer.results.plan import CHANGE_REL, SIGNIFICANT_DIGITS, round_significant, without_noise, written_table

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    s = load_scenario("sample")
    return s, solve(s, baseline="none")


def test_round_significant():
    values = np.array([2035.1999999999998, 11870.543999999998, 474821759.99999994, 3392.0, 0.0, -7.000000000001,
                       np.nan, np.inf, 1e-30])
    assert round_significant(values, 10).tolist()[:6] == [2035.2, 11870.544, 474821760.0, 3392.0, 0.0, -7.0]
    assert np.isnan(round_significant(values, 10)[6]) and round_significant(values, 10)[7] == np.inf
    assert round_significant(values, 10)[8] == 0.0


def significant_digits(text: str) -> int:
    """Significant digits of a number as written (trailing zeros not counted: 3206400000.0 has 5)."""
    return len(text.lower().split("e")[0].lstrip("-").replace(".", "").strip("0"))


def test_written_tables_carry_no_noise_and_still_pass_check(sample, tmp_path):
    s, plan = sample
    write_plan(plan, tmp_path / "plan")
    for name, table in (("placement.csv", plan.placement), ("service.csv", plan.service)):
        text = (tmp_path / "plan" / name).read_text()
        numbers = re.findall(r"(?<=,)-?\d[\d.e+-]*(?=,|\n)", text)
        assert max(significant_digits(n) for n in numbers) <= SIGNIFICANT_DIGITS, name
        back = pd.read_csv(tmp_path / "plan" / name)
        floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
        np.testing.assert_allclose(back[floats].to_numpy(), table[floats].to_numpy(), rtol=5e-10, atol=0)
        assert (back[floats].to_numpy() != table[floats].to_numpy()).any(), "the plan in memory is full precision"
    assert "2035.2," in (tmp_path / "plan" / "placement.csv").read_text()
    placement, service, _ = read_plan(tmp_path / "plan")
    assert check_plan(s, placement, service).ok
    r = runner.invoke(app, ["check", "sample", str(tmp_path / "plan")])
    assert r.exit_code == 0 and "compliant" in r.output, r.output


def test_rounding_cannot_hide_a_violation(sample):
    """A site 1e-5 over its power (ten times the checker's tolerance) stays over once written."""
    s, plan = sample
    placement = plan.placement.copy()
    site_id = plan.summary["physical_binding"]["power_sites"][0]
    rows = placement["site_id"] == site_id
    placement.loc[rows, ["new_units", "units", "tpp", "power_kw", "racks"]] *= 1 + 1e-5
    report = check_plan(s, written_table(placement), written_table(plan.service))
    assert not report.ok and "site_power" in " ".join(report.failures()["rule"])


def test_without_noise():
    assert without_noise(-0.4, 1e6) == 0.0 and str(without_noise(-0.4, 1e6)) == "0.0"
    assert without_noise(-2.0, 1e6) == -2.0
    series = without_noise(pd.Series([-1e-3, 5.0, -0.0]), 1e6)
    assert series.tolist() == [0.0, 5.0, 0.0] and not np.signbit(series.to_numpy()).any()


def test_baseline_none_reports_no_noise(sample):
    """The sample's compliant plan and its baseline both leave a fraction of an H200 idle (the
    cost stage's allowance), so their served TPP differ by a few thousand TPP of 9e10: that is
    reported as 0."""
    s, plan = sample
    base = plan.summary["baseline"]
    raw = plan.summary["served_tpp"] - solve(load_scenario("sample", "none")).summary["served_tpp"]
    assert abs(raw) <= CHANGE_REL * plan.summary["demand_tpp"]
    assert base["served_tpp_change"] == 0.0
    assert base["value_change"] < -1e9 and base["cost_change_usd"] != 0.0     # real changes stay


def test_an_identical_baseline_reports_zeros(tmp_path):
    f = write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL")], [chip(inventory=7)],
                       [market("us", "USA", 5 * M), market("pl", "POL", 5 * M)])
    r = runner.invoke(app, ["solve", str(f), "--out", str(tmp_path / "p"), "--baseline", "aidr-2025"])
    assert r.exit_code == 0, r.output
    assert re.search(r"value \+0 [a-zA-Z ]*\(\+0\.00 %\), served \+0 TPP, cost \+0 USD", r.output), r.output
    assert "compute moved by the policy (TPP): none" in r.output
    assert re.search(r"value by market country \([^)]*\): no change", r.output), r.output


def test_a_sku_left_a_fraction_of_a_unit_by_the_cost_stage_is_used_up(sample):
    s, plan = sample
    left = s.chips["inventory"] - plan.placement.groupby("sku")["new_units"].sum()
    assert 0.35 < left["H200"] < 2.4        # more than the 1e-6 binding tolerance, within the allowance
    assert "H200" in plan.summary["physical_binding"]["inventory_skus"]


def test_a_sku_with_whole_units_left_is_not_used_up(tmp_path):
    """Power for 3 units only: 3 of the inventory of 5 placed, 2 left: not used up."""
    f = write_scenario(tmp_path, [site("US", "USA", power_mw=0.003)], [chip(inventory=5, capex_usd=1.0)],
                       [market("us", "USA", 100 * M)], policy="")
    plan = solve(load_scenario(f))
    assert plan.placement["new_units"].sum() == pytest.approx(3)
    assert plan.summary["physical_binding"]["inventory_skus"] == []
    assert plan.summary["physical_binding"]["power_sites"] == ["US"]


def test_tier_move_ranking_reports_noise_as_zero():
    """A move whose objective differs from the base by solver noise (-0.3 of 1e9) gains 0, not -0."""
    table = pd.DataFrame({"variant": ["base", "pol", "bra"], "status": "optimal",
                          "param:tier.POL": [None, 1, None], "param:tier.BRA": [None, None, 1],
                          "objective": [1e9, 1e9 - 0.3, 1e9 + 5e4]})
    ranking = tier_move_ranking(table).set_index("country")["value_of_move"]
    assert ranking.to_dict() == {"BRA": 5e4, "POL": 0.0} and not np.signbit(ranking["POL"])


def test_tier_move_ranking_says_when_cut(tmp_path):
    """Three Tier-2 countries each moved to Tier 1; with --top 2 the ranking says it shows 2 of 3."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL"), site("BR", "BRA"),
                                          site("IN", "IND")], [chip(inventory=10)],
                       [market("us", "USA", 5 * M)])
    r = runner.invoke(app, ["sweep", str(f), "--out", str(tmp_path / "sw"), "--each-tier2-country-to-tier1",
                            "--top", "2"])
    assert r.exit_code == 0, r.output
    ranking = r.output.split("best first:")[1]
    assert "-0" not in ranking and len(re.findall(r"^  (POL|BRA|IND) ", ranking, re.M)) == 2
    assert "showing 2 of 3; --top 3 shows every row" in ranking
