"""fleetopt sweep --objective serve|margin (the objective is part of the resume key), and sweeps of
multi-period scenarios (every variant a multi-period plan, its parameters applied to every period)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import M
from test_money import money_scenario
from test_periods_cli import periods_folder
from typer.testing import CliRunner

from cli import app
from optimizer.io.manifest import resume_differences

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def results(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "results.csv").set_index("variant")


def plans(folder):
    return sorted((folder / "variants").glob("*/plan"))


def served_by_market(plan_dir) -> pd.Series:
    return pd.read_csv(plan_dir / "service.csv").groupby("market_id")["tpp"].sum()


def test_sweep_margin_leaves_the_loss_making_market_unserved_in_every_variant(tmp_path):
    """money_scenario: 'rich' earns more than a unit costs a year, 'poor' less. Under margin every
    variant serves rich only; under serve, poor too. The objective is recorded in sweep.json, in
    each result row and in each variant plan's summary.json, and every plan passes check."""
    money_scenario(tmp_path / "scn")
    out = tmp_path / "margin"
    r = run("sweep", tmp_path / "scn", "--out", out, "--policy", "none", "--objective", "margin",
            "--vary", "demand_multiplier=1,2")
    assert r.exit_code == 0, r.output
    assert "2 variants: 2 optimal" in r.output
    assert json.loads((out / "sweep.json").read_text())["objective"] == "margin"
    table = results(out)
    assert set(table["objective_kind"]) == {"margin"} and table["margin_usd_per_year"].gt(0).all()
    for plan in plans(out):
        summary = json.loads((plan / "summary.json").read_text())
        assert summary["economics"]["objective"] == "margin" and summary["run"]["objective"] == "margin"
        assert served_by_market(plan).get("poor", 0.0) == pytest.approx(0.0, abs=1e-3)
        assert run("check", tmp_path / "scn", plan).exit_code == 0
    serve = tmp_path / "serve"
    assert run("sweep", tmp_path / "scn", "--out", serve, "--policy", "none", "--vary", "demand_multiplier=1,2").exit_code == 0
    assert set(results(serve)["objective_kind"]) == {"serve"}
    for plan in plans(serve):
        assert served_by_market(plan)["poor"] > M


def test_a_sweep_resumed_under_another_objective_reuses_nothing(tmp_path):
    """The resume key holds the objective: the serve sweep's results are not taken for margin's
    (exit 2, the folder untouched); --restart solves every variant afresh under margin."""
    money_scenario(tmp_path / "scn")
    out = tmp_path / "sw"
    args = ("sweep", tmp_path / "scn", "--out", out, "--policy", "none", "--vary", "demand_multiplier=1,2")
    assert run(*args).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = run(*args, "--objective", "margin")
    assert r.exit_code == 2, r.output
    assert "the objective differs (margin; was serve)" in r.output and "--restart" in r.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    again = run(*args, "--objective", "margin", "--restart")
    assert again.exit_code == 0 and "resumed:" not in again.output, again.output
    assert set(results(out)["objective_kind"]) == {"margin"}
    for plan in plans(out):
        assert served_by_market(plan).get("poor", 0.0) == pytest.approx(0.0, abs=1e-3)
    assert "resumed: 2 of 2" in run(*args, "--objective", "margin").output     # same objective: resumed


def test_resume_key_objective_defaults_to_serve_for_older_sweeps():
    """A sweep written before --objective recorded none: it was a serve sweep."""
    old = {"schema": 1, "fleetopt_version": "1"}
    assert resume_differences(old, {**old, "objective": "serve"}) == []
    assert resume_differences(old, {**old, "objective": "margin"}) == ["the objective differs (margin; was serve)"]


def test_resume_key_solver_versions_treat_a_missing_package_as_absent():
    """A manifest written before highspy-extras was recorded has no such key; the new one records
    it as None (not installed): the same solvers, so the sweep resumes."""
    old = {"schema": 1, "fleetopt_version": "1", "solvers": {"highspy": "1.16.0", "ortools": "9.15", "pulp": "3.3"}}
    same = {**old, "solvers": {"highspy": "1.16.0", "highspy-extras": None, "ortools": "9.15", "pulp": "3.3"}}
    assert resume_differences(old, same) == []
    other = {**old, "solvers": {**same["solvers"], "highspy-extras": "1.15.1", "highspy": "1.15.1"}}
    assert resume_differences(old, other) == [
        "the solver packages differ (highspy 1.15.1, highspy-extras 1.15.1, ortools 9.15, pulp 3.3; "
        "was highspy 1.16.0, highspy-extras absent, ortools 9.15, pulp 3.3)"]


def test_resume_key_holds_every_periods_policy():
    """A multi-period sweep whose period B policy file was edited is not resumed (the first
    period's policy alone would not show it)."""
    fp = {"name": "p", "effective_sha256": "x"}
    old = {"schema": 1, "policy": fp, "period_policies": {"A": fp, "B": fp}}
    new = {**old, "period_policies": {"A": fp, "B": {"name": "p", "effective_sha256": "y"}}}
    assert resume_differences(old, new) == ["the policy of period B differs (p; was p)"]


def test_multi_period_sweep_applies_each_parameter_to_every_period(tmp_path):
    """periods_folder: A (30 units available, open) and B (100 units, IND capped at 40 MTPP; the
    IND market is in-country only, the US one 10 MTPP). With inventory x m and US demand x d,
    hand-solved: A serves 30m MTPP, B min(100m, 40 + 10d): each period's own availability
    (chips.csv and the B delivery alike) and demand are scaled, and B keeps its own cap."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    out = tmp_path / "sw"
    r = run("sweep", f, "--out", out, "--vary", "demand_multiplier.USA=1,3", "--vary", "inventory_multiplier=0.5,1")
    assert r.exit_code == 0, r.output
    assert "4 variants: 4 optimal" in r.output and "planned over 2 periods (A, B)" in r.output
    table = results(out)
    for column in ("periods", "discounted_cost_usd", "min_served_pct", "min_served_pct_period", "min_home_share",
                   "min_tier1_share_period"):
        assert column in table.columns
    assert (table["periods"] == 2).all()
    for plan in plans(out):
        summary = json.loads((plan / "summary.json").read_text())
        params = summary["run"]["variant"]
        m, d = params["inventory_multiplier"], params["demand_multiplier.USA"]
        served = pd.read_csv(plan / "service.csv").groupby("period")["tpp"].sum()
        assert served["A"] == pytest.approx(30 * m * M, rel=1e-6)
        assert served["B"] == pytest.approx(min(100 * m, 40 + 10 * d) * M, rel=1e-6)
        for period in summary["periods"]:
            assert period["policy"]["sweep_parameters"] == params
        row = table.loc[plan.parent.name]
        assert row["min_served_pct"] == pytest.approx(min(p["served_pct"] for p in summary["periods"]))
        checked = run("check", f, plan)
        assert checked.exit_code == 0, checked.output
        assert "every period (2)" in checked.output


def test_check_applies_a_multi_period_variants_demand_edit_in_every_period(tmp_path):
    """The x3 US demand is served beyond the folder's own demand in B: check passes only because
    it applies the recorded multiplier to each period (and says so)."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    out = tmp_path / "sw"
    assert run("sweep", f, "--out", out, "--vary", "demand_multiplier.USA=3").exit_code == 0
    (plan,) = plans(out)
    assert pd.read_csv(plan / "service.csv").query("market_id == 'us'")["tpp"].max() > 10 * M * 1.5
    checked = run("check", f, plan)
    assert checked.exit_code == 0, checked.output
    assert "A is a sweep variant" in checked.output and "B is a sweep variant" in checked.output


def test_multi_period_sweep_policy_parameter_overrides_every_period(tmp_path):
    """--policies none,cap.toml: none lifts B's cap (B serves 100 MTPP), cap.toml caps A and B
    (B serves 40 in IND + 10 in the US); each plan records one policy for both periods."""
    f = periods_folder(tmp_path, policy_b="open.toml")
    out = tmp_path / "sw"
    r = run("sweep", f, "--out", out, "--policies", f"none,{f / 'cap.toml'}")
    assert r.exit_code == 0, r.output
    table = results(out)
    assert len(table) == 2 and (table["status"] == "optimal").all()
    for plan in plans(out):
        summary = json.loads((plan / "summary.json").read_text())
        names = {p["policy"]["name"] for p in summary["periods"]}
        assert len(names) == 1
        b = pd.read_csv(plan / "service.csv").query("period == 'B'")["tpp"].sum()
        assert b == pytest.approx(100 * M if names == {"none"} else 50 * M, rel=1e-6)
        assert any("overridden" in n for n in summary["notes"]), summary["notes"]
        assert run("check", f, plan).exit_code == 0


def test_multi_period_sweep_under_margin_leaves_the_loss_making_market_unserved(tmp_path):
    """money_scenario over two quarters: under margin every variant serves 'rich' only, in both
    periods; the plans record margin and pass check; the rows give the margin over the horizon."""
    money_scenario(tmp_path / "scn")
    pd.DataFrame({"period": ["A", "B"], "years": [0.25, 0.25]}).to_csv(tmp_path / "scn" / "periods.csv", index=False)
    out = tmp_path / "sw"
    r = run("sweep", tmp_path / "scn", "--out", out, "--policy", "none", "--objective", "margin",
            "--vary", "demand_multiplier=1,2")
    assert r.exit_code == 0, r.output
    assert "2 variants: 2 optimal" in r.output
    table = results(out)
    assert set(table["objective_kind"]) == {"margin"} and table["margin_usd"].gt(0).all()
    for plan in plans(out):
        summary = json.loads((plan / "summary.json").read_text())
        assert summary["economics"]["objective"] == "margin" and summary["run"]["objective"] == "margin"
        service = pd.read_csv(plan / "service.csv").groupby(["period", "market_id"])["tpp"].sum()
        factor = summary["run"]["variant"]["demand_multiplier"]
        for period in ("A", "B"):
            assert service.get((period, "poor"), 0.0) == pytest.approx(0.0, abs=1e-3)
            assert service[(period, "rich")] == pytest.approx(10 * M * factor, rel=1e-6)
        assert run("check", tmp_path / "scn", plan).exit_code == 0


def test_report_reads_a_multi_period_variant_plan_as_check_does(tmp_path):
    """report on a variant's plan: each period under the variant's recorded policy (IND moved to
    Tier 1) with its demand multiplier applied (the US market x3), not the folder's own."""
    from cli import _plan_from_folder
    f = periods_folder(tmp_path, policy_b="cap.toml")
    out = tmp_path / "sw"
    assert run("sweep", f, "--out", out, "--vary", "demand_multiplier.USA=3", "--vary", "tier.IND=1").exit_code == 0
    (plan_dir,) = plans(out)
    plan = _plan_from_folder(f, plan_dir, None)
    for period in plan.timeline.periods:
        assert period.scenario.markets.at["us", "demand_tpp"] == pytest.approx(30 * M)
        assert period.scenario.tiers["IND"] == 1
    r = run("report", f, plan_dir, "--out", tmp_path / "r.html")
    assert r.exit_code == 0 and "is a sweep variant" in r.output, r.output


def test_multi_period_each_tier2_country_to_tier1_moves_it_in_every_period(tmp_path):
    """IND is Tier 2 (capped at 40 MTPP in B): moved to Tier 1 in every period, its cap no longer
    applies and B serves all 100 units; every plan passes check; the tier-move ranking prints."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    out = tmp_path / "sw"
    r = run("sweep", f, "--out", out, "--each-tier2-country-to-tier1")
    assert r.exit_code == 0, r.output
    assert "value of moving each country to Tier 1" in r.output and "IND" in r.output
    table = results(out)
    assert len(table) == 2
    for plan in plans(out):
        moved = "tier.IND" in json.loads((plan / "summary.json").read_text())["run"]["variant"]
        b = pd.read_csv(plan / "service.csv").query("period == 'B'")["tpp"].sum()
        assert b == pytest.approx((100 if moved else 50) * M, rel=1e-6)
        assert run("check", f, plan).exit_code == 0


def test_multi_period_sweep_in_worker_processes_and_on_dask_gives_the_same_results(tmp_path):
    f = periods_folder(tmp_path, policy_b="cap.toml")
    args = ("--vary", "demand_multiplier.USA=1,3", "--vary", "inventory_multiplier=0.5,1")
    objectives = []
    for name, extra in (("one", ()), ("two", ("--workers", "2")), ("dask", ("--dask", "local"))):
        if name == "dask":
            pytest.importorskip("distributed")
        r = run("sweep", f, "--out", tmp_path / name, *args, *extra)
        assert r.exit_code == 0 and "4 variants: 4 optimal" in r.output, r.output
        objectives.append(results(tmp_path / name)["objective"].sort_index())
    for other in objectives[1:]:
        pd.testing.assert_series_equal(objectives[0], other, rtol=1e-9)
