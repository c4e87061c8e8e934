"""End to end: a multi-period plan solved by the real solver and written by write_plan passes
``fleetopt check``; corrupted one way at a time, check fails (exit 1) naming the period and rule."""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_periods, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import write_plan
from optimizer.inputs.timeline import load_timeline
from optimizer.planner.periods import solve_timeline

runner = CliRunner()


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """U.S., Polish and Chinese sites; Q1 under no policy, Q2 and Q3 under aidr-2025 (7 % per
    Tier-2 country); 100 units by Q1, 150 from Q2; 10 installed in the U.S."""
    root = tmp_path_factory.mktemp("e2e")
    scn = write_scenario(
        root / "scn", [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0, in_country_only=True)],
        installed=[("US", "H", 10)])
    write_periods(scn, [("Q1", 0.25, 1.0, "none"), ("Q2", 0.25, 1.0, ""), ("Q3", 0.25, 1.0, "")],
                  deliveries=[("H", "Q2", 50)])
    write_plan(solve_timeline(load_timeline(scn)), root / "plan")
    return scn, root / "plan"


def check(scn, plan) -> tuple[int, str]:
    result = runner.invoke(app, ["check", str(scn), str(plan)])
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), repr(exc)
    return result.exit_code, result.output


def broken(out: str) -> set[tuple[str, str]]:
    """(period, rule) of every 'broken: period P: RULE ...' line."""
    lines = [line.split(": ")[1:3] for line in out.splitlines() if line.startswith("broken: period ")]
    return {(where.removeprefix("period "), rule.split(" ")[0]) for where, rule in lines}


def corrupted(solved, tmp_path, change) -> tuple[int, str]:
    """A copy of the solved plan with placement.csv passed through ``change``, checked."""
    scn, plan = solved
    copy = tmp_path / "plan"
    copy.mkdir()
    for name in ("service.csv", "summary.json"):
        (copy / name).write_bytes((plan / name).read_bytes())
    placement = pd.read_csv(plan / "placement.csv", dtype={"period": str})
    change(placement).to_csv(copy / "placement.csv", index=False)
    return check(scn, copy)


def row(p: pd.DataFrame, period: str, site_id: str) -> pd.Series:
    return (p["period"] == period) & (p["site_id"] == site_id) & (p["sku"] == "H")


def units(p: pd.DataFrame, period: str, site_id: str) -> float:
    return float(p.loc[row(p, period, site_id), "units"].sum())


def set_units(p: pd.DataFrame, period: str, site_id: str, value: float) -> None:
    """Set a row's units and keep new_units = units - units before, in that period and the next."""
    ids = list(dict.fromkeys(p["period"]))
    t = ids.index(period)
    before = 10.0 if t == 0 and site_id == "US" else units(p, ids[t - 1], site_id) if t else 0.0
    p.loc[row(p, period, site_id), ["units", "new_units"]] = [value, value - before]
    if t + 1 < len(ids):
        p.loc[row(p, ids[t + 1], site_id), "new_units"] = units(p, ids[t + 1], site_id) - value


def test_solved_plan_passes_check_in_every_period(solved):
    code, out = check(*solved)
    assert code == 0, out
    assert "compliant" in out and "every period (3)" in out
    for pid in ("Q1", "Q2", "Q3"):
        assert f"-- period {pid}" in out


def test_stock_falls_in_period_2(solved, tmp_path):
    def change(p):
        set_units(p, "Q2", "US", units(p, "Q1", "US") - 1)
        return p
    code, out = corrupted(solved, tmp_path, change)
    assert code == 1, out
    assert {(period, rule) for period, rule in broken(out) if "units" in rule or "stock" in rule} == \
        {("Q2", "stock_never_falls")}, out
    assert "stock_never_falls (worst: US/H)" in out


def test_later_period_breaks_a_share_limit(solved, tmp_path):
    """Poland gets a tenth of the fleet in Q3 (fine under Q1's open policy, not under 7 %)."""
    def change(p):
        total = p.loc[p["period"] == "Q3", "units"].sum()
        set_units(p, "Q3", "PL", units(p, "Q3", "PL") + 0.1 * total)
        return p
    code, out = corrupted(solved, tmp_path, change)
    assert code == 1, out
    assert ("Q3", "tier2_share") in broken(out) and "tier2_share (POL)" in out
    assert {period for period, rule in broken(out) if rule == "tier2_share"} == {"Q3"}, out


def test_availability_exceeded_in_period_1_only(solved, tmp_path):
    """101 new units by Q1 (100 available then; 150 from Q2, and the Q2 stock already holds them)."""
    def change(p):
        q1 = p.loc[p["period"] == "Q1"]
        extra = 101 - float((q1["units"] - q1["installed_units"]).sum())
        set_units(p, "Q1", "US", units(p, "Q1", "US") + extra)
        assert units(p, "Q2", "US") >= units(p, "Q1", "US"), "the fixture's Q2 stock no longer covers Q1's"
        return p
    code, out = corrupted(solved, tmp_path, change)
    assert code == 1, out
    assert broken(out) == {("Q1", "inventory")}, out
