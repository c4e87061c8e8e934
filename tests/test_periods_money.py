"""Money over time in multi-period plans (issues 11 and 12): each period's discount from
periods.csv or derived from economics.toml ``discount_rate``, and ``--objective margin``.

Conventions as tests/test_periods.py: chip ``H`` with tpp 1e6 (1 unit = 1 MTPP), 1 kW, 10 units
per rack. Each docstring derives what it asserts.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_periods, write_scenario
from test_periods_agreement import assert_period_rules, random_timeline, solved
from timeline_helpers import timeline_from

from optimizer import load_scenario, solve
from optimizer.errors import InputError
from optimizer.inputs.economics import period_discounts
from optimizer.inputs.timeline import load_timeline
from optimizer.planner.periods import solve_timeline

PERIODS = [("A", 0.25), ("B", 0.5), ("C", 1.0)]


def folder(tmp_path, periods=PERIODS, rate: str | None = "0.08"):
    """One U.S. site and market; economics.toml with ``rate`` (None: no file, "": no key)."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA")], [chip()], [market("us", "USA", 10 * M)])
    if rate is not None:
        (f / "economics.toml").write_text(f"discount_rate = {rate}\n" if rate else "")
    return write_periods(f, periods)


def discounts(tl) -> list[float]:
    return [p.discount for p in tl.periods]


def test_period_discounts_count_the_years_before_each_period():
    """Starts at 0, 0.25, 0.75 years: (1.08)^0, (1.08)^-0.25, (1.08)^-0.75."""
    assert period_discounts(0.08, [0.25, 0.5, 1.0]) == pytest.approx([1.0, 1.08 ** -0.25, 1.08 ** -0.75], rel=1e-12)
    assert period_discounts(0.0, [1.0, 1.0]) == pytest.approx([1.0, 1.0])


def test_discount_derived_from_the_rate_when_periods_csv_has_none(tmp_path):
    """No discount column, discount_rate 0.08: derived, said in a note naming the rate."""
    tl = load_timeline(folder(tmp_path))
    assert discounts(tl) == pytest.approx([1.0, 1.08 ** -0.25, 1.08 ** -0.75], rel=1e-12)
    note = next(n for n in tl.notes if "discount" in n)
    assert "derived from economics.toml discount_rate = 0.08" in note and "B (0.9809)" in note


def test_periods_csv_discount_wins_over_the_rate(tmp_path):
    """A discount column and a rate: the column discounts, and a note says the rate sets only the annuity."""
    tl = load_timeline(folder(tmp_path, [("A", 0.25, 1.0), ("B", 0.25, 0.5)]))
    assert discounts(tl) == [1.0, 0.5]
    assert any("periods.csv wins" in n for n in tl.notes)


@pytest.mark.parametrize("rate", [None, ""])
def test_without_a_rate_every_discount_stays_one(tmp_path, rate):
    """No economics.toml, or one without discount_rate: today's behaviour, discount 1, no note."""
    tl = load_timeline(folder(tmp_path, rate=rate))
    assert discounts(tl) == [1.0, 1.0, 1.0]
    assert not any("discount" in n for n in tl.notes)


def test_a_blank_discount_with_a_rate_is_refused(tmp_path):
    """Some periods with a discount, some blank, and a rate: two sources, exit 2."""
    with pytest.raises(InputError, match=r"column discount is empty in periods B .*leave the column out"):
        load_timeline(folder(tmp_path, [("A", 0.25, 1.0), ("B", 0.25, None)]))


def test_a_blank_discount_without_a_rate_is_one(tmp_path):
    tl = load_timeline(folder(tmp_path, [("A", 0.25, 0.9), ("B", 0.25, None)], rate=None))
    assert discounts(tl) == [0.9, 1.0]


def test_a_derived_discount_below_the_range_is_refused(tmp_path):
    """Rate 1 over 20 years before C: 2^-20 < 0.001, outside the range solved exactly."""
    with pytest.raises(InputError, match=r"falls below 0.001 .* C \("):
        load_timeline(folder(tmp_path, [("A", 10.0), ("B", 10.0), ("C", 1.0)], rate="1.0"))


@pytest.mark.parametrize("seed", range(6))
def test_margin_fast_plain_and_pulp_agree(tmp_path, seed):
    """Random timelines in dollars (tests/test_periods_agreement.py): the three paths reach the
    same margin over the horizon and the same discounted cost, and keep every period's rules."""
    tl = random_timeline(tmp_path, seed, dollars=True)
    plans = {path: solved(tl, path, "margin") for path in ("fast", "plain", "pulp")}
    if plans["plain"] is None:
        assert plans["fast"] is None and plans["pulp"] is None
        return
    margin = plans["plain"].summary["economics"]["margin_usd"]
    for path, plan in plans.items():
        assert plan.summary["economics"]["objective"] == "margin"
        assert plan.summary["economics"]["margin_usd"] == pytest.approx(margin, rel=1e-6, abs=1e-3), path
        assert plan.summary["cost"]["discounted_usd"] == pytest.approx(
            plans["plain"].summary["cost"]["discounted_usd"], rel=1e-4, abs=1e-3), path
        assert_period_rules(tl, plan)
    assert margin >= solved(tl, "fast").summary["economics"]["margin_usd"] - 1e-6 * abs(margin)


PER_TPP_YEAR = 8760.0 / 15832.0     # usd_per_h100e_hour -> USD per TPP-year
ANNUITY = 1e6 * 0.08 * 1.08 ** 5 / (1.08 ** 5 - 1)    # capex 1e6 over 5 years at 8 %: 250,456 a year


def dollar_market(market_id, demand, usd) -> dict:
    row = market(market_id, "USA", demand)
    del row["value"]
    return {**row, "usd_per_h100e_hour": usd}


def money_timeline(tmp_path):
    """One U.S. site, chip H (1 MTPP, capex 1e6: annuity 250,456 a year), 100 units available.
    'rich' earns 1e6 x 8760/15832 = 553,310 a unit-year and has demand 10 in B only;
    'poor' earns 0.3 of that (165,993), below the annuity, demand 10 in A and B.
    Periods A (0.5 years, discount 1) and B (1 year, discount 0.9)."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA")], [chip(capex_usd=1e6)],
                       [dollar_market("rich", 10 * M, 1.0), dollar_market("poor", 10 * M, 0.3)], policy="")
    return write_periods(f, [("A", 0.5, 1.0), ("B", 1.0, 0.9)], demand=[("rich", "A", 0.0)])


@pytest.mark.parametrize("path", ("fast", "plain", "pulp", "ortools-glop"))
def test_margin_buys_nothing_before_it_earns_and_nothing_that_loses(tmp_path, path):
    """Under margin: no unit in A (rich has no demand there; a unit would pay its annuity for
    half a year for nothing), 10 in B for rich, none for poor (it earns less than its annuity).
    Margin = 1 x 0.9 x 10 x (553,310 - 250,456). Under serve both markets are served."""
    tl = load_timeline(money_timeline(tmp_path))
    plan = solve_timeline(tl, path=path, objective="margin")
    stock = plan.placement.set_index("period")["units"]
    assert "A" not in stock.index or stock.get("A", 0.0) == pytest.approx(0.0, abs=1e-6)
    assert float(stock.loc["B"]) == pytest.approx(10.0, rel=1e-6)
    assert served_tpp(plan, "poor") == pytest.approx(0.0, abs=1e-3)
    money = plan.summary["economics"]
    assert money["objective"] == "margin"
    assert money["margin_usd"] == pytest.approx(0.9 * 10 * (M * PER_TPP_YEAR - ANNUITY), rel=1e-6)
    assert plan.summary["periods"][1]["margin_usd_per_year"] == pytest.approx(10 * (M * PER_TPP_YEAR - ANNUITY),
                                                                               rel=1e-6)
    serve = solve_timeline(tl, path=path)
    assert served_tpp(serve, "poor") == pytest.approx(20 * M, rel=1e-6)     # 10 in A and 10 in B
    assert serve.summary["economics"]["margin_usd"] < money["margin_usd"]


def served_tpp(plan, market_id: str) -> float:
    return float(plan.service.loc[plan.service["market_id"] == market_id, "tpp"].sum())


@pytest.mark.parametrize("path", ("fast", "plain"))
def test_one_period_of_one_year_under_margin_is_the_snapshot_margin_plan(tmp_path, path):
    """A one-period timeline (years 1, discount 1) under margin gives the snapshot margin plan:
    the same margin, revenue, cost and placement, on a generated fleet in dollars where some
    units earn their annuity and some do not."""
    from optimizer.bench.generate import generate_fleet
    folder = generate_fleet(tmp_path / "fleet", sites=60, seed=3)
    markets = pd.read_csv(folder / "markets.csv")
    markets["usd_per_h100e_hour"] = markets.pop("value") * 0.6
    markets.to_csv(folder / "markets.csv", index=False)
    s = load_scenario(folder)
    snap = solve(s, path=path, objective="margin")
    assert 0 < snap.summary["new_units"] < solve(s, path=path).summary["new_units"]     # margin binds
    plan = solve_timeline(timeline_from(folder, [("Y", 1.0, 1.0, {})]), path=path, objective="margin")
    money, snap_money = plan.summary["economics"], snap.summary["economics"]
    assert money["margin_usd"] == pytest.approx(snap_money["margin_usd_per_year"], rel=1e-9)
    assert money["revenue_usd"] == pytest.approx(snap_money["revenue_usd_per_year"], rel=1e-9)
    assert plan.summary["cost"]["total_usd"] == pytest.approx(snap.summary["cost"]["total_usd"], rel=1e-6)
    mine = plan.placement.drop(columns="period")
    mine["new_units"] = mine["units"] - mine["installed_units"]
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), snap.placement, rtol=1e-6)


def test_cli_margin_over_periods_solves_checks_and_explains(tmp_path):
    """solve --objective margin on a multi-period scenario in dollars: exit 0, the money lines,
    summary.json records the objective; check finds the plan compliant; explain works."""
    from typer.testing import CliRunner

    from cli import app
    runner = CliRunner()
    f = write_periods(money_timeline(tmp_path), [("A", 0.5), ("B", 1.0)], demand=[("rich", "A", 0.0)])
    (f / "economics.toml").write_text("discount_rate = 0.08\n")     # no discount column: derived
    out = tmp_path / "plan"
    solved_ = runner.invoke(app, ["solve", str(f), "--out", str(out), "--objective", "margin"])
    assert solved_.exception is None or isinstance(solved_.exception, SystemExit), solved_.exception
    assert solved_.exit_code == 0, solved_.output
    assert "objective margin" in solved_.output and "margin $" in solved_.output
    assert "derived from economics.toml discount_rate = 0.08" in solved_.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["economics"]["objective"] == "margin" and summary["run"]["options"]["objective"] == "margin"
    assert summary["economics"]["discount_from"] == "economics.toml discount_rate"
    assert [p["discount"] for p in summary["periods"]] == pytest.approx([1.0, 1.08 ** -0.5])
    checked = runner.invoke(app, ["check", str(f), str(out)])
    assert checked.exit_code == 0 and "compliant" in checked.output, checked.output
    explained = runner.invoke(app, ["explain", str(f), "--objective", "margin"])
    assert explained.exit_code == 0 and "margin $" in explained.output, explained.output


@pytest.mark.parametrize("path", ("fast", "plain"))
def test_margin_with_soft_limits_and_frozen_stock(tmp_path, path):
    """--soft (no limit binds here: the plan of the hard margin) and re-planning with 5 units
    frozen in A: those pay half a year of annuity in A, serving poor (0.3 of rich's revenue),
    then serve rich in B with 5 more: margin = 0.5 x 5 x (0.3 R - a) + 0.9 x 10 x (R - a)."""
    tl = load_timeline(money_timeline(tmp_path))
    R, a = M * PER_TPP_YEAR, ANNUITY
    soft = solve_timeline(tl, path=path, objective="margin", soft={})
    assert soft.summary["economics"]["margin_usd"] == pytest.approx(0.9 * 10 * (R - a), rel=1e-6)
    five = pd.Series([5.0], index=pd.MultiIndex.from_tuples([("US", "H")], names=["site_id", "sku"]))
    frozen = solve_timeline(tl, path=path, objective="margin", frozen={"A": five})
    assert frozen.summary["economics"]["margin_usd"] == pytest.approx(
        0.5 * 5 * (0.3 * R - a) + 0.9 * 10 * (R - a), rel=1e-6)
