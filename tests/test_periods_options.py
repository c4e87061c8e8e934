"""solve options on multi-period scenarios (periods.csv): --report, --threads, the OR-Tools
paths, --baseline; and compare of two multi-period plans."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from test_periods_agreement import assert_period_rules, random_timeline, solved
from test_periods_cli import CAP, OPEN, periods_folder, run

from optimizer.analysis.report import is_report
from optimizer.inputs.economics import H100E_TPP, HOURS_PER_YEAR, capital_recovery_factor
from optimizer.planner.periods import solve_timeline
from optimizer.results.check import check_timeline_plan
from optimizer.solvers import highs

GLOP = "ortools-glop"


def summary_of(folder):
    return json.loads((folder / "summary.json").read_text())


def test_solve_report_writes_the_multi_period_report_of_the_report_command(tmp_path):
    """solve --report writes the report that `fleetopt report SCN DIR` writes for the same plan
    (one builder), with its per-period section; the plan passes check."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    out, html = tmp_path / "plan", tmp_path / "r.html"
    result = run("solve", f, "--out", out, "--report", html)
    assert result.exit_code == 0, result.output
    assert f"report written to {html}" in result.output and is_report(html)
    again = run("report", f, out, "--out", tmp_path / "again.html")
    assert again.exit_code == 0, again.output
    assert html.read_text() == (tmp_path / "again.html").read_text()
    assert "2 periods (A to B)" in html.read_text() and "tier2_cap[IND]@B" in html.read_text()
    assert run("check", f, out).exit_code == 0


def test_solve_report_refuses_a_path_it_must_not_overwrite(tmp_path):
    """--report into the scenario or the --plan folder is exit 2 before any solve."""
    f = periods_folder(tmp_path)
    first = tmp_path / "first"
    assert run("solve", f, "--out", first).exit_code == 0
    for report, extra in ((f / "periods.csv", []), (first / "r.html", ["--freeze-through", "A", "--plan", first])):
        result = run("solve", f, "--out", tmp_path / "x", "--report", report, *extra)
        assert result.exit_code == 2 and "--report" in result.output and "would overwrite" in result.output, \
            result.output
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("path", ["fast", "plain"])
def test_threads_reach_highs_in_both_stages_and_one_thread_reruns_byte_identical(tmp_path, monkeypatch, path):
    seen = []
    make = highs.make_highs
    monkeypatch.setattr(highs, "make_highs", lambda options=None: seen.append(dict(options or {})) or make(options))
    f = periods_folder(tmp_path, policy_b="cap.toml")
    for out in ("a", "b"):
        result = run("solve", f, "--out", tmp_path / out, "--path", path, "--threads", "1")
        assert result.exit_code == 0, result.output
    assert seen and all(o.get("threads") == 1 and o.get("parallel") == "off" for o in seen)
    for name in ("placement.csv", "service.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert run("solve", f, "--out", tmp_path / "c", "--path", path).exit_code == 0
    assert summary_of(tmp_path / "a")["objective"] == pytest.approx(summary_of(tmp_path / "c")["objective"], rel=1e-9)


@pytest.mark.parametrize("path", ["pulp", GLOP, "ortools-pdlp"])
def test_threads_where_highs_does_not_solve_is_exit_2(tmp_path, path):
    f = periods_folder(tmp_path)
    result = run("solve", f, "--out", tmp_path / "p", "--path", path, "--threads", "2")
    assert result.exit_code == 2 and "--threads 2: works with the fast and plain LP paths" in result.output
    assert not (tmp_path / "p").exists()


def test_glop_solves_a_multi_period_scenario_that_check_confirms(tmp_path, path=GLOP):
    """The cap binds in B only: the same value as HiGHS, and the written plan passes check;
    --soft works on it too (no violation: the hard plan exists)."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    result = run("solve", f, "--out", tmp_path / path, "--path", path)
    assert result.exit_code == 0, result.output
    assert f"path {path}, solver {path}" in result.output
    assert run("solve", f, "--out", tmp_path / "plain", "--path", "plain").exit_code == 0
    value = summary_of(tmp_path / "plain")["objective"]
    assert summary_of(tmp_path / path)["objective"] == pytest.approx(value, rel=1e-7)
    assert summary_of(tmp_path / path)["periods"][1]["binding_limits"] == ["tier2_cap[IND]"]
    checked = run("check", f, tmp_path / path)
    assert checked.exit_code == 0 and "compliant" in checked.output, checked.output
    soft = run("solve", f, "--out", tmp_path / "soft", "--path", path, "--soft")
    assert soft.exit_code == 0 and "soft limit violated" not in soft.output, soft.output


@pytest.mark.parametrize("seed", range(4))
def test_glop_agrees_with_highs_on_random_timelines(tmp_path, seed):
    """GLOP on the plain multi-period LP: HiGHS's value and discounted cost, every period's rules
    within 1e-6 and the checker confirms every period."""
    tl = random_timeline(tmp_path, seed)
    plain = solved(tl, "plain")
    assert plain is not None
    plan = solve_timeline(tl, path=GLOP)
    assert plan.summary["solver"] == GLOP
    assert plan.summary["objective"] == pytest.approx(plain.summary["objective"], rel=1e-9)
    assert plan.summary["cost"]["discounted_usd"] == pytest.approx(plain.summary["cost"]["discounted_usd"], rel=1e-6,
                                                                   abs=1e-3)
    assert_period_rules(tl, plan)
    assert check_timeline_plan(tl, plan.placement, plan.service).ok


def test_pdlp_is_refused_on_a_multi_period_scenario(tmp_path):
    """PDLP's first-order tolerance left a multi-period plan over a share limit beyond check's
    tolerance (tests/adversarial: the corpus scenario), so the path is refused before any solve."""
    f = periods_folder(tmp_path)
    result = run("solve", f, "--out", tmp_path / "p", "--path", "ortools-pdlp")
    assert result.exit_code == 2 and "--path ortools-pdlp: refused on a multi-period scenario" in result.output
    assert "use --path ortools-glop" in result.output and not (tmp_path / "p").exists()


def test_glop_names_the_period_and_limit_of_a_stock_trap(tmp_path, path=GLOP):
    """Re-planning on OR-Tools: keeping B's 100 IND units under B's new 40 MTPP cap is exit 3
    naming the period and the limit, as on HiGHS."""
    f = periods_folder(tmp_path)
    first = tmp_path / "first"
    assert run("solve", f, "--out", first).exit_code == 0
    (f / "periods.csv").write_text((f / "periods.csv").read_text().replace("B,0.25,open.toml", "B,0.25,cap.toml"))
    trap = run("solve", f, "--out", tmp_path / "trap", "--path", path, "--freeze-through", "B", "--plan", first)
    assert trap.exit_code == 3 and "in period B" in trap.output and "tier2_cap[IND]" in trap.output, trap.output


def dollar_timeline(tmp_path):
    """IND only (site and in-country market, 100 MTPP a period, USD 1 per TPP-year), 30 units
    by A and 100 by B (capex $1,000, 1 kW at $100/MWh and PUE 1: $876 a year); A is open, B caps
    IND at 40 MTPP; B's discount 0.9."""
    usd_per_tpp_year = H100E_TPP / HOURS_PER_YEAR      # usd_per_h100e_hour giving USD 1 per TPP-year
    m = {k: v for k, v in market("in", "IND", 100 * M, in_country_only=True).items() if k != "value"}
    f = write_scenario(tmp_path / "scn", [site("IN", "IND", pue=1.0, energy_usd_per_mwh=100.0)],
                       [chip(inventory=30, capex_usd=1000.0)], [{**m, "usd_per_h100e_hour": usd_per_tpp_year}],
                       policy=OPEN)
    (f / "open.toml").write_text(OPEN)
    (f / "cap.toml").write_text(CAP)
    pd.DataFrame({"period": ["A", "B"], "years": [0.25, 0.25], "discount": [1.0, 0.9],
                  "policy": ["open.toml", "cap.toml"]}).to_csv(f / "periods.csv", index=False)
    pd.DataFrame({"sku": ["H"], "period": ["B"], "units": [70]}).to_csv(f / "deliveries.csv", index=False)
    return f


def test_baseline_gives_the_cost_of_compliance_in_the_period_the_cap_binds_only(tmp_path):
    """Solved by hand. A: 30 units serve 30 MTPP under either policy (no change). B: the cap keeps
    IND at 40 units (10 added: $10,000 + 0.25 x 40 x $876 = $18,760), the baseline `none` adds 70
    and serves 100 MTPP ($70,000 + 0.25 x 100 x $876 = $91,900): value -60 MTPP x $1 = -$60M per
    year, cost -$73,140, annualised cost 60 x (the annuity + $876) less. Over the horizon: value
    0.25 x 0.9 x -$60M = -$13.5M, cost -$73,140 (discounted x 0.9), margin 0.25 x 0.9 x B's."""
    f = dollar_timeline(tmp_path)
    out = tmp_path / "plan"
    result = run("solve", f, "--out", out, "--baseline", "none")
    assert result.exit_code == 0, result.output
    base = summary_of(out)["baseline"]
    assert base["baseline_policy"] == "none" and base["status"] == "optimal" and base["mode"] == "lp"
    assert base["value_unit"] == "USD" and base["period_value_unit"] == "USD per year"
    a, b = base["periods"]
    assert (a["period"], a["value_change"], a["served_tpp_change"], a["cost_change_usd"]) == ("A", 0.0, 0.0, 0.0)
    assert all(c["change_tpp"] == c["change_value"] == 0.0 for c in a["countries"])
    assert b["period"] == "B"
    assert b["value_change"] == pytest.approx(-60 * M, rel=1e-6)     # the cost stage may give up 1e-7 of value
    assert b["value_change_pct"] == pytest.approx(-60.0, rel=1e-6)
    assert b["served_tpp_change"] == pytest.approx(-60 * M, rel=1e-6)
    assert b["cost_change_usd"] == pytest.approx(-73_140.0, rel=1e-6)
    assert b["discounted_cost_change_usd"] == pytest.approx(-0.9 * 73_140.0, rel=1e-6)
    per_unit_year = 1000.0 * float(capital_recovery_factor(0.08, 5.0)) + 876.0     # annuity (8 %, 5 years) + energy
    assert b["annualised_cost_change_usd_per_year"] == pytest.approx(-60 * per_unit_year, rel=1e-6)
    assert b["margin_change_usd_per_year"] == pytest.approx(-60 * M + 60 * per_unit_year, rel=1e-6)
    assert base["margin_change_usd"] == pytest.approx(0.225 * (-60 * M + 60 * per_unit_year), rel=1e-6)
    ind = {c["iso3"]: c for c in b["countries"]}["IND"]
    assert ind["change_tpp"] == pytest.approx(-60 * M) and ind["change_value"] == pytest.approx(-60 * M)
    assert base["value_change"] == pytest.approx(-13.5e6, rel=1e-6)
    assert base["cost_change_usd"] == pytest.approx(-73_140.0, rel=1e-6)
    assert base["discounted_cost_change_usd"] == pytest.approx(-0.9 * 73_140.0, rel=1e-6)
    ind = {c["iso3"]: c for c in base["countries"]}["IND"]
    assert ind["change_tpp"] == pytest.approx(-60 * M) and ind["change_value"] == pytest.approx(-13.5e6)
    assert "cost of compliance vs none over 2 periods" in result.output
    assert "USD (-45.00 %)" in result.output and "cost -73,140 USD" in result.output
    b_line = next(line for line in result.output.split("cost of compliance")[1].splitlines() if line.startswith("  B "))
    assert b_line.split()[2:] == ["-60.00", b_line.split()[3], "-73,140"]
    assert run("check", f, out).exit_code == 0
    assert run("report", f, out, "--out", tmp_path / "r.html").exit_code == 0
    page = (tmp_path / "r.html").read_text()
    assert "Cost of compliance against none" in page and "USD (-45.00 %)" in page and "Over the 2 periods" in page


def test_baseline_under_the_plans_own_policies_costs_nothing_on_every_path(tmp_path):
    """--policy cap.toml --baseline cap.toml: the same timeline twice, every change 0, on the
    path, soft prices, threads, whole racks and objective of the plan."""
    f = dollar_timeline(tmp_path)
    for path, extra in (("plain", ["--threads", "1"]), ("ortools-glop", ["--soft"]), ("fast", ["--integer"]),
                        ("pulp", ["--objective", "margin"])):
        out = tmp_path / path
        result = run("solve", f, "--out", out, "--path", path, "--policy", f / "cap.toml", "--baseline", f / "cap.toml", *extra)
        assert result.exit_code == 0, result.output
        base = summary_of(out)["baseline"]
        assert base["mode"] == ("lp-soft" if "--soft" in extra else "integer" if "--integer" in extra else "lp")
        assert base["value_change"] == base["cost_change_usd"] == 0.0
        assert all(r["value_change"] == r["cost_change_usd"] == 0.0 for r in base["periods"])


def test_an_infeasible_baseline_is_recorded_and_the_plan_stands(tmp_path):
    """The baseline caps IND at 1 MTPP below the installed base: no baseline plan; the plan is
    written, the summary and the printed line say why."""
    f = periods_folder(tmp_path)
    pd.DataFrame({"site_id": ["IN"], "sku": ["H"], "units": [2]}).to_csv(f / "installed.csv", index=False)
    (f / "impossible.toml").write_text('name = "impossible"\ntier2_country_cap_tpp = 1e6\n')
    out = tmp_path / "plan"
    result = run("solve", f, "--out", out, "--baseline", f / "impossible.toml")
    assert result.exit_code == 0, result.output
    base = summary_of(out)["baseline"]
    assert base["status"] == "infeasible" and "impossible" in base["message"]
    assert "cost of compliance vs impossible: not available (infeasible)" in result.output


def test_a_bad_baseline_is_exit_2_before_any_solve(tmp_path):
    f = periods_folder(tmp_path)
    result = run("solve", f, "--out", tmp_path / "plan", "--baseline", "no-such-policy")
    assert result.exit_code == 2 and "--baseline no-such-policy" in result.output
    assert not (tmp_path / "plan").exists()


def two_plans(tmp_path):
    """A: the timeline under `none` (100 MTPP served in IND in B); B: under its own policies
    (B caps IND at 40 MTPP: 50 MTPP served in B, 40 IND + 10 US)."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    assert run("solve", f, "--out", tmp_path / "a", "--policy", "none").exit_code == 0
    assert run("solve", f, "--out", tmp_path / "b").exit_code == 0
    return f, tmp_path / "a", tmp_path / "b"


def test_compare_two_multi_period_plans_over_the_horizon_and_per_period(tmp_path):
    """By hand: value over the horizon 0.25 x (30 + 100) = 32.5 M in A, 0.25 x (30 + 50) = 20 M in
    B; period A unchanged, period B -50 M (per year); tier2_cap[IND] binds in B's period B only;
    the tables carry the period."""
    f, a, b = two_plans(tmp_path)
    result = run("compare", a, b, "--out", tmp_path / "diff.csv")
    assert result.exit_code == 0, result.output
    assert "headline over the horizon" in result.output
    assert "value (abstract value units x years)" in result.output and "-12,500,000" in result.output
    assert "binding limits added in B: tier2_cap[IND]@B; removed in B: none" in result.output
    lines = {line.split(":")[0].strip(): line for line in result.output.splitlines() if line.startswith("  A:")
             or line.startswith("  B:")}
    assert "served 27.27 % -> 27.27 %; value no change" in lines["A"] and "binding added in B: none" in lines["A"]
    assert "served 90.91 % -> 45.45 %; value -50,000,000" in lines["B"]
    assert "binding added in B: tier2_cap[IND]; removed in B: none" in lines["B"]
    table = pd.read_csv(tmp_path / "diff.csv")
    head = table.loc[table["table"] == "headline"].set_index("id")
    assert head.loc["value", "a"] == pytest.approx(32.5e6) and head.loc["value", "b"] == pytest.approx(20e6)
    assert head.loc["total_tpp", "a"] == pytest.approx(100 * M)     # the fleet at the end, not summed over periods
    periods = table.loc[(table["table"] == "periods") & (table["id"] == "value")].set_index("period")
    change = lambda rows, key: float(rows.loc[key, "change"])     # noqa: E731 (the column holds limits' words too)
    assert change(periods, "A") == pytest.approx(0.0) and change(periods, "B") == pytest.approx(-50 * M)
    countries = table.loc[table["table"] == "countries"].set_index(["id", "period"])
    assert change(countries, ("IND", "B")) == pytest.approx(-50 * M)      # 90 in IND (10 serve us from USA) -> 40
    assert change(countries, ("IND", "A")) == pytest.approx(0.0)
    assert list(table.loc[table["table"] == "limits", "id"]) == ["tier2_cap[IND]@B"]


def test_compare_refuses_a_multi_period_plan_against_a_snapshot_plan_or_other_periods(tmp_path):
    f, a, b = two_plans(tmp_path)
    snap = write_scenario(tmp_path / "snap", [site("IN", "IND")], [chip()], [market("in", "IND", M)], policy=OPEN)
    assert run("solve", snap, "--out", tmp_path / "s").exit_code == 0
    for x, y in ((a, tmp_path / "s"), (tmp_path / "s", a)):
        result = run("compare", x, y, "--out", tmp_path / "diff.csv")
        assert result.exit_code == 2 and result.exception is not None, result.output
        assert "a multi-period plan (A, B)" in result.output and "a snapshot plan" in result.output
        assert "do not compare period by period" in result.output and not (tmp_path / "diff.csv").exists()
    frame = pd.read_csv(f / "periods.csv")
    pd.concat([frame, frame.iloc[[-1]].assign(period="C")]).to_csv(f / "periods.csv", index=False)
    assert run("solve", f, "--out", tmp_path / "c").exit_code == 0
    result = run("compare", a, tmp_path / "c")
    assert result.exit_code == 2 and "their periods differ" in result.output

