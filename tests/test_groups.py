"""The ``[groups]`` rule (a minimum share per named group of countries), solved by hand on every
path, audited, priced, softened, diagnosed, validated and recorded."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import ALL_PATHS, M, chip, market, new_units, site, solve_checked, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import InfeasibleError, InputError, load_scenario, solve
from optimizer.policy.policy import Policy

EU = '[groups.EU]\ncountries = ["DEU", "FRA"]\nmin_share = 0.4\n'


def scenario(folder, de_racks=100000.0, installed=None, policy=EU):
    """A US site with free energy and a German one that costs energy: without a group rule every
    unit goes to the US. 100 units of 1 MTPP, 100 MTPP of demand worth 1 per TPP."""
    return write_scenario(
        folder,
        [site("US", "USA", 39.0, -77.5), site("DE", "DEU", 50.1, 8.7, racks=de_racks, energy_usd_per_mwh=100.0)],
        [chip(inventory=100)],
        [market("us", "USA", 100 * M, 39.0, -77.5, max_rtt_ms=400.0)],
        installed=installed, policy=policy)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_group_minimum_binds_and_moves_placement(tmp_path, path):
    """At least 40 % in {DEU, FRA}: DE gets 40 of the 100 units, US 60 (by hand); without the
    group, all 100 go to the US."""
    plan = solve_checked(scenario(tmp_path / "g"), path)
    assert new_units(plan, "DE") == pytest.approx(40.0, rel=1e-6)
    assert new_units(plan, "US") == pytest.approx(60.0, rel=1e-6)
    assert plan.summary["served_tpp"] == pytest.approx(100 * M, rel=1e-6)
    assert "group_share[EU]" in plan.summary["binding_limits"]
    free = solve_checked(scenario(tmp_path / "free", policy=""), path)
    assert new_units(free, "DE") == pytest.approx(0.0, abs=1e-6)


def test_group_minimum_price_by_hand(tmp_path):
    """DE holds at most 20 units (2 racks), so T <= 20/a: 50 MTPP served at a = 0.4, and the
    price of +1 pp of the minimum is -20e6/a^2 x 0.01 = -1.25e6 per pp."""
    plan = solve(load_scenario(scenario(tmp_path / "g", de_racks=2.0)))
    assert plan.summary["objective"] == pytest.approx(50 * M, rel=1e-6)
    row = plan.prices.set_index("limit").loc["group_share[EU]"]
    assert row["family"] == "group_share" and row["unit"] == "per +1 pp of the minimum"
    assert row["value_per_unit"] == pytest.approx(-1.25e6, rel=1e-6)
    assert row["limit_value"] == pytest.approx(40.0)


def test_group_minimum_infeasible_diagnosed_and_soft(tmp_path):
    """50 installed units in the US and room for 20 in DE: 20 >= 0.4 x 70 cannot hold. The hard
    solve names the group; a soft solve gives a plan and lists the group's violation."""
    folder = scenario(tmp_path / "g", de_racks=2.0, installed=[("US", "H", 50)])
    s = load_scenario(folder)
    with pytest.raises(InfeasibleError, match=r"group share limit for EU \(>= 40% in DEU, FRA\)"):
        solve(s)
    soft = solve(s, soft={})
    (violation,) = soft.summary["soft"]["violations"]
    assert violation["family"] == "group_share" and violation["limit"] == "group_share[EU]"
    assert violation["violation_tpp"] > 0 and violation["violation_pp"] > 0


def _run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_cli_solve_check_and_a_plan_that_breaks_the_group(tmp_path):
    """Solved under a policy file outside the scenario, the plan passes check, which rebuilds the
    group from summary.json; moving DE's units to the US breaks only the group: exit 1."""
    folder = scenario(tmp_path / "g", policy=None)
    policy = tmp_path / "eu.toml"
    policy.write_text("ban_tier3 = true\n" + EU)
    out = tmp_path / "plan"
    r = _run("solve", folder, "--out", out, "--policy", policy)
    assert r.exit_code == 0, r.output
    assert "group_share[EU]" in r.output
    record = json.loads((out / "summary.json").read_text())["policy"]
    assert record["groups"] == {"EU": {"countries": ["DEU", "FRA"], "min_share": 0.4}}
    r = _run("check", folder, out)
    assert r.exit_code == 0, r.output
    assert "group_share" in r.output
    placement = pd.read_csv(out / "placement.csv")
    de, us = placement["site_id"] == "DE", placement["site_id"] == "US"
    for col in ("new_units", "units", "tpp"):
        placement.loc[us, col] += placement.loc[de, col].sum()
        placement.loc[de, col] = 0.0
    placement.to_csv(out / "placement.csv", index=False)
    service = pd.read_csv(out / "service.csv")
    service = service.assign(site_id="US").groupby(["market_id", "site_id"], as_index=False).agg(
        tpp=("tpp", "sum"), rtt_ms=("rtt_ms", "min"))
    service.to_csv(out / "service.csv", index=False)
    r = _run("check", folder, out)
    assert r.exit_code == 1, r.output
    broken = [line for line in r.output.splitlines() if line.startswith("broken:")]
    assert broken == ["broken: group_share (EU): value 0, limit 0.4"], r.output


@pytest.mark.parametrize("group, words", [
    ('countries = ["DEU", "XXX"]\nmin_share = 0.2', "unknown country code(s) XXX"),
    ('countries = ["DEU"]\nmin_share = 1.5', "min_share = 1.5 must be a number in [0, 1]"),
    ('countries = []\nmin_share = 0.2', "countries must be a non-empty list"),
    ('countries = ["DEU"]', "min_share is missing"),
    ('countries = ["DEU", "PRI"]\nmin_share = 0.2', "PRI (write USA)"),
])
def test_bad_groups_are_exit_2(tmp_path, group, words):
    folder = scenario(tmp_path / "g", policy=f"[groups.EU]\n{group}\n")
    r = _run("validate", folder)
    assert r.exit_code == 2, r.output
    assert words in r.output and "groups" in r.output


def test_a_policy_built_in_python_checks_groups_too():
    with pytest.raises(InputError, match="countries must be a non-empty list"):
        Policy(name="p", source="python", groups={"EU": {"countries": [], "min_share": 0.2}})
