"""--objective margin with --integer and sites.csv fixed_cost_usd (issue 12): the one-time fixed
cost is charged as an annuity, fixed_cost_usd x CRF(discount_rate, fixed_cost_life_years).

Hand-solved: one U.S. site, one sku (1 MTPP a unit, capex 1e6, 10 units a rack), one market of
10 MTPP at 1 USD per H100e-hour. A unit earns 1e6 x 8760/15832 = 553,310 USD a year and costs
1e6 x CRF(8 %, 5) = 250,456 a year, so serving the market (one rack) earns a margin of
3,028,540 a year before the site's fixed cost. A fixed cost of 10e6 is 2,504,565 a year over 5
years (open: margin 523,975); 15e6 is 3,756,847 (stay closed: margin 0); 15e6 over 10 years
(CRF 0.149029) is 2,235,443 (open again)."""
from __future__ import annotations

import json

import pytest
from helpers import M, chip, site, write_scenario
from test_money import PER_TPP_YEAR, dollar_market
from typer.testing import CliRunner

from cli import app
from optimizer import check_plan, load_scenario, solve
from optimizer.errors import InputError
from optimizer.inputs.economics import capital_recovery_factor

runner = CliRunner()
CAPEX = 1e6
UNIT_MARGIN = 1e6 * PER_TPP_YEAR - CAPEX * capital_recovery_factor(0.08, [5.0])[0]   # 302,854 a unit-year


def crf(years: float) -> float:
    return float(capital_recovery_factor(0.08, [years])[0])


def fixed_cost_scenario(folder, fixed: float, economics: str | None = None):
    write_scenario(folder, [site("S", "USA", fixed_cost_usd=fixed)],
                   [chip(capex_usd=CAPEX, inventory=100.0)], [dollar_market("m", "USA", 10 * M, 1.0)])
    if economics is not None:
        (folder / "economics.toml").write_text(economics)
    return load_scenario(folder, "none")


@pytest.mark.parametrize("method", ["exact", "round"])
@pytest.mark.parametrize("fixed, economics, opens", [
    (10e6, None, True),                               # 2,504,565 a year < 3,028,540
    (15e6, None, False),                              # 3,756,847 a year > 3,028,540
    (15e6, "fixed_cost_life_years = 10\n", True),    # 2,235,443 a year over 10 years
])
def test_a_fixed_cost_that_outweighs_the_margin_keeps_the_site_closed(tmp_path, method, fixed, economics, opens):
    s = fixed_cost_scenario(tmp_path, fixed, economics)
    life = 10.0 if economics else 5.0
    plan = solve(s, objective="margin", integer=True, method=method)
    assert check_plan(s, plan.placement, plan.service, integer=True).ok
    money, cost = plan.summary["economics"], plan.summary["cost"]
    units = float(plan.placement["new_units"].sum())
    if opens:
        assert units == pytest.approx(10.0)
        expected = 10 * UNIT_MARGIN - fixed * crf(life)
        assert cost["fixed_usd"] == pytest.approx(fixed)
        assert cost["annualised_fixed_usd_per_year"] == pytest.approx(fixed * crf(life), rel=1e-12)
    else:
        assert units == 0.0 and plan.service["tpp"].sum() == 0.0
        expected = 0.0
        assert cost["fixed_usd"] == 0.0 and cost["annualised_fixed_usd_per_year"] == 0.0
    assert money["margin_usd_per_year"] == pytest.approx(expected, rel=1e-6, abs=1e-3)
    assert plan.summary["integer"]["objective"] == pytest.approx(expected, rel=1e-6, abs=1e-3)
    assert money["fixed_cost_life_years"] == life
    # the serve objective serves the market whatever the fixed cost
    assert solve(s, integer=True, method=method).summary["served_pct"] == pytest.approx(100.0)


def test_the_margin_bound_of_round_holds_above_the_plan(tmp_path):
    """The round method's LP bound leaves the fixed cost out (a relaxation): bound >= plan."""
    plan = solve(fixed_cost_scenario(tmp_path, 10e6), objective="margin", integer=True, method="round")
    info = plan.summary["integer"]
    assert info["bound"] == pytest.approx(10 * UNIT_MARGIN, rel=1e-6)
    assert info["bound"] >= info["objective"] and info["gap"] > 0.1
    assert plan.summary["status"] == "feasible" and plan.summary["termination"] == "gap_limit"


@pytest.mark.parametrize("text, words", [
    ("fixed_cost_life_years = 0\n", "fixed_cost_life_years = 0 must be a number of years > 0"),
    ("fixed_cost_life_years = 101\n", "<= 100"),
    ("fixed_cost_life_years = \"5y\"\n", "must be a number of years"),
    ("fixed_cost_life_years = true\n", "must be a number of years"),
])
def test_a_bad_fixed_cost_life_is_refused(tmp_path, text, words):
    with pytest.raises(InputError) as err:
        fixed_cost_scenario(tmp_path, 10e6, text)
    assert any(words in line and "economics.toml" in line for line in err.value.problems), err.value.problems


def test_cli_margin_integer_with_a_fixed_cost_passes_check(tmp_path):
    fixed_cost_scenario(tmp_path / "scn", 15e6)
    out = tmp_path / "plan"
    r = runner.invoke(app, ["solve", str(tmp_path / "scn"), "--out", str(out), "--policy", "none",
                            "--objective", "margin", "--integer"])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "margin $0 per year" in r.output
    # the integer line's objective is the MIP's (margin less the installed fleet's energy): labelled so
    assert "MIP objective (margin per year less the installed fleet's energy, a constant)" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["economics"]["fixed_cost_life_years"] == 5.0 and summary["new_units"] == 0.0
    r = runner.invoke(app, ["check", str(tmp_path / "scn"), str(out)])
    assert r.exit_code == 0, r.output
