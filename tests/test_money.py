"""Money (issue 12): dollar values (usd_per_h100e_hour), annualised capex (life_years,
economics.toml discount_rate), the margin objective on every LP path, and the cost of compliance
in dollars."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import ALL_PATHS, M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import check_plan, load_scenario, solve
from optimizer.errors import InputError
from optimizer.inputs.economics import capital_recovery_factor

PER_TPP_YEAR = 8760.0 / 15832.0      # usd_per_h100e_hour -> USD per TPP-year
CAPEX = 1e6                           # per unit of 1 MTPP
CRF_8_5 = 0.08 * 1.08 ** 5 / (1.08 ** 5 - 1)     # 0.2504564...
runner = CliRunner()


def dollar_market(market_id, country, demand, usd, **kw) -> dict:
    row = market(market_id, country, demand, **kw)
    del row["value"]
    return {**row, "usd_per_h100e_hour": usd}


def money_scenario(folder, rich=1.0, poor=0.3, economics: str | None = None, policy="none"):
    """One site, one sku (1 MTPP a unit, capex 1e6: 250,456 USD a year at 8 % over 5 years), two
    markets of 10 units each: 'rich' earns 1e6 x rich x 8760/15832 a unit-year (553,310 at 1),
    'poor' 165,993 at 0.3, less than a unit costs a year."""
    write_scenario(folder, [site("S", "USA")], [chip(capex_usd=CAPEX, inventory=100.0)],
                   [dollar_market("rich", "USA", 10 * M, rich), dollar_market("poor", "USA", 10 * M, poor)],
                   policy=None)
    if economics is not None:
        (folder / "economics.toml").write_text(economics)
    return load_scenario(folder, policy)


def served(plan, market_id: str) -> float:
    return float(plan.service.loc[plan.service["market_id"] == market_id, "tpp"].sum())


def test_usd_per_h100e_hour_becomes_a_value_per_tpp_year(tmp_path):
    s = money_scenario(tmp_path)
    assert s.markets.at["rich", "value"] == pytest.approx(1.0 * PER_TPP_YEAR, rel=1e-15)
    assert s.economics.dollars and s.economics.value_unit == "USD per year"
    plan = solve(s)
    money = plan.summary["economics"]
    assert money["value_input"] == "usd_per_h100e_hour"
    assert money["revenue_usd_per_year"] == pytest.approx(plan.summary["objective"])
    assert money["margin_usd_per_year"] == pytest.approx(
        plan.summary["objective"] - plan.summary["cost"]["annualised_usd_per_year"])


def test_abstract_values_are_said_to_be_abstract(tmp_path):
    write_scenario(tmp_path, [site("S", "USA")], [chip()], [market("m", "USA", M)])
    plan = solve(load_scenario(tmp_path, "none"))
    money = plan.summary["economics"]
    assert money["value_unit"] == "abstract value units" and money["value_input"] == "value"
    assert money["revenue_usd_per_year"] is None and money["margin_usd_per_year"] is None


def test_both_value_columns_are_refused(tmp_path):
    write_scenario(tmp_path, [site("S", "USA")], [chip()],
                   [{**market("m", "USA", M), "usd_per_h100e_hour": 2.0}])
    with pytest.raises(InputError, match="both value and usd_per_h100e_hour"):
        load_scenario(tmp_path)


def test_a_blank_dollar_price_is_refused_not_defaulted(tmp_path):
    write_scenario(tmp_path, [site("S", "USA")], [chip()],
                   [dollar_market("a", "USA", M, 2.0), dollar_market("b", "USA", M, "")])
    with pytest.raises(InputError, match="usd_per_h100e_hour is empty in rows b"):
        load_scenario(tmp_path)


def test_capital_recovery_factor():
    assert capital_recovery_factor(0.08, np.array([5.0]))[0] == pytest.approx(CRF_8_5, rel=1e-12)
    assert capital_recovery_factor(0.0, np.array([4.0]))[0] == 0.25
    # the annuity repays the capex: its present value over L years is 1
    pv = sum(CRF_8_5 / 1.08 ** t for t in range(1, 6))
    assert pv == pytest.approx(1.0, rel=1e-12)


def test_annualised_cost_uses_life_years_and_the_discount_rate(tmp_path):
    s = money_scenario(tmp_path, economics="discount_rate = 0.0\n")
    plan = solve(s)
    cost = plan.summary["cost"]
    assert cost["annualised_capex_usd_per_year"] == pytest.approx(cost["capex_usd"] / 5, rel=1e-9)
    assert plan.summary["economics"]["discount_rate"] == 0.0
    (tmp_path / "chips.csv").write_text((tmp_path / "chips.csv").read_text().replace(
        "capex_usd\n", "capex_usd,life_years\n").replace(f"{CAPEX}\n", f"{CAPEX},2\n"))
    cost2 = solve(load_scenario(tmp_path, "none")).summary["cost"]
    assert cost2["annualised_capex_usd_per_year"] == pytest.approx(cost2["capex_usd"] / 2, rel=1e-9)


@pytest.mark.parametrize("text, words", [
    ("discount_rate = 0.08\nrate = 1\n", "unknown key(s) rate"),
    ("discount_rate = -0.1\n", "must be a number in [0, 1]"),
    ("discount_rate = true\n", "must be a number in [0, 1]"),
    ("discount_rate = \"8%\"\n", "must be a number in [0, 1]"),
    ("discount_rate = nan\n", "must be a number in [0, 1]"),
    ("discount_rate = 0.08 0.09\n", "not valid UTF-8 TOML"),
])
def test_bad_economics_toml_is_refused(tmp_path, text, words):
    with pytest.raises(InputError) as err:
        money_scenario(tmp_path, economics=text)
    assert any(words in line and "economics.toml" in line for line in err.value.problems), err.value.problems


@pytest.mark.parametrize("path", ALL_PATHS)
def test_margin_leaves_a_loss_making_market_unserved(tmp_path, path):
    """Hand-solved: rich earns 553,310 a unit-year against a cost of 250,456, poor 165,993;
    margin serves rich only (10 units), serve serves both (20 units)."""
    s = money_scenario(tmp_path)
    margin = solve(s, path=path, objective="margin")
    assert check_plan(s, margin.placement, margin.service).ok
    assert served(margin, "rich") == pytest.approx(10 * M, rel=1e-6)
    assert served(margin, "poor") == pytest.approx(0.0, abs=1e-3)
    expected = 10 * (1e6 * PER_TPP_YEAR - CAPEX * CRF_8_5)
    assert margin.summary["economics"]["margin_usd_per_year"] == pytest.approx(expected, rel=1e-6)
    assert margin.summary["economics"]["objective"] == "margin"
    serve = solve(s, path=path)
    assert served(serve, "poor") == pytest.approx(10 * M, rel=1e-6)
    assert serve.summary["economics"]["margin_usd_per_year"] < expected


def test_margin_agrees_on_every_path_with_a_cost_that_varies_by_site(tmp_path):
    """Two sites with different energy prices and a policy that binds: the three paths find the
    same margin (fast pools sites only when their annualised costs agree too)."""
    write_scenario(
        tmp_path,
        [site("US1", "USA", energy_usd_per_mwh=50.0, pue=1.3), site("US2", "USA", energy_usd_per_mwh=400.0),
         site("PL", "POL", 52.0, 21.0), site("DE", "DEU", 50.0, 8.0, energy_usd_per_mwh=200.0)],
        [chip(capex_usd=CAPEX, inventory=25.0, power_kw=700.0),
         chip("B", tpp=0.5 * M, capex_usd=0.2 * CAPEX, inventory=40.0, power_kw=300.0)],
        [dollar_market("us", "USA", 12 * M, 0.9), dollar_market("eu", "POL", 15 * M, 0.7, lat=52.0, lon=21.0),
         dollar_market("de", "DEU", 8 * M, 0.45, lat=50.0, lon=8.0)])
    s = load_scenario(tmp_path, "aidr-2025")
    plans = {p: solve(s, path=p, objective="margin") for p in ALL_PATHS}
    margins = {p: plan.summary["economics"]["margin_usd_per_year"] for p, plan in plans.items()}
    for p, plan in plans.items():
        assert check_plan(s, plan.placement, plan.service).ok, p
        assert margins[p] == pytest.approx(margins["fast"], rel=1e-6), margins
    assert margins["fast"] > solve(s).summary["economics"]["margin_usd_per_year"] + 1.0


def test_margin_needs_dollar_values(tmp_path):
    write_scenario(tmp_path, [site("S", "USA")], [chip()], [market("m", "USA", M)])
    with pytest.raises(InputError, match="needs market values in dollars"):
        solve(load_scenario(tmp_path, "none"), objective="margin")


def test_cost_of_compliance_in_dollars_per_country(tmp_path):
    """Under aidr-2025 the 7 % limit keeps Poland's site small; its market (in-country only)
    loses revenue, reported in USD per year in total and for POL."""
    write_scenario(tmp_path, [site("US", "USA"), site("PL", "POL", 52.0, 21.0)], [chip(inventory=100.0)],
                   [dollar_market("us", "USA", 10 * M, 1.0),
                    dollar_market("pl", "POL", 10 * M, 1.0, lat=52.0, lon=21.0, in_country_only=True)])
    plan = solve(load_scenario(tmp_path, "aidr-2025"), baseline="none")
    base = plan.summary["baseline"]
    assert base["value_unit"] == "USD per year"
    pol = next(c for c in base["countries"] if c["iso3"] == "POL")
    assert pol["change_value"] < 0 and pol["change_value"] == pytest.approx(
        pol["change_served_tpp"] * PER_TPP_YEAR, rel=1e-9)
    assert sum(c["change_value"] for c in base["countries"]) == pytest.approx(base["value_change"], rel=1e-9)
    assert base["margin_change_usd_per_year"] == pytest.approx(
        base["value_change"] - base["annualised_cost_change_usd_per_year"], rel=1e-9)


def test_cli_solve_margin_speaks_dollars_and_passes_check(tmp_path):
    money_scenario(tmp_path / "scn")
    out = tmp_path / "plan"
    r = runner.invoke(app, ["solve", str(tmp_path / "scn"), "--out", str(out), "--policy", "none",
                            "--objective", "margin"])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "USD per year" in r.output and "margin $" in r.output and "objective margin" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["economics"]["objective"] == "margin"
    assert summary["run"]["options"]["objective"] == "margin"
    r = runner.invoke(app, ["check", str(tmp_path / "scn"), str(out)])
    assert r.exit_code == 0, r.output
    placement = pd.read_csv(out / "placement.csv")
    assert placement["new_units"].sum() == pytest.approx(10.0, rel=1e-6)


def test_cli_margin_with_abstract_values_is_exit_2(tmp_path):
    write_scenario(tmp_path / "scn", [site("S", "USA")], [chip()], [market("m", "USA", M)])
    r = runner.invoke(app, ["solve", str(tmp_path / "scn"), "--out", str(tmp_path / "plan"),
                            "--objective", "margin"])
    assert r.exit_code == 2 and "needs market values in dollars" in r.output
    assert not (tmp_path / "plan").exists()


def test_explain_names_margin_as_the_reason(tmp_path):
    s = money_scenario(tmp_path)
    plan = solve(s, objective="margin")
    reasons = plan.unserved.set_index("market_id")["reason"]
    assert reasons["poor"].startswith("margin:") and "rich" not in reasons
    assert solve(s).unserved.empty


def test_margin_on_whole_racks(tmp_path):
    s = money_scenario(tmp_path)
    plan = solve(s, objective="margin", integer=True)
    assert check_plan(s, plan.placement, plan.service, integer=True).ok
    assert served(plan, "rich") == pytest.approx(10 * M, rel=1e-6) and served(plan, "poor") == 0.0


def test_cli_explain_prices_the_margin_in_dollars(tmp_path):
    money_scenario(tmp_path / "scn")
    r = runner.invoke(app, ["explain", str(tmp_path / "scn"), "--policy", "none", "--objective", "margin"])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "USD per year" in r.output and "margin: every new unit within reach" in r.output


def test_dollars_put_the_sign_before_the_dollar():
    from optimizer.inputs.economics import usd
    assert (usd(-423_543_815_607.2), usd(1234.4), usd(0.0)) == ("-$423,543,815,607", "$1,234", "$0")
