"""solve options on multi-period scenarios (periods.csv): --report, --threads, the OR-Tools
paths, --baseline; and compare of two multi-period plans."""
from __future__ import annotations

import json

import pytest
from test_periods_agreement import assert_period_rules, random_timeline, solved
from test_periods_cli import periods_folder, run

from optimizer.analysis.report import is_report
from optimizer.planner.periods import solve_timeline
from optimizer.results.check import check_timeline_plan
from optimizer.solvers import highs

ORTOOLS = ("ortools-glop", "ortools-pdlp")


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


@pytest.mark.parametrize("path", ["pulp", *ORTOOLS])
def test_threads_where_highs_does_not_solve_is_exit_2(tmp_path, path):
    f = periods_folder(tmp_path)
    result = run("solve", f, "--out", tmp_path / "p", "--path", path, "--threads", "2")
    assert result.exit_code == 2 and "--threads 2: works with the fast and plain LP paths" in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("path", ORTOOLS)
def test_ortools_paths_solve_a_multi_period_scenario_that_check_confirms(tmp_path, path):
    """The cap binds in B only: 20 MTPP... the same value as HiGHS, and the written plan passes
    check; --soft works on it too (no violation: the hard plan exists)."""
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
def test_ortools_paths_agree_with_highs_on_random_timelines(tmp_path, seed):
    """GLOP and PDLP on the plain multi-period LP: HiGHS's value (PDLP to its 1e-9 tolerances)
    and discounted cost, and the checker confirms every period (GLOP's plan also within the
    agreement test's absolute 1e-6; PDLP's is within the checker's relative 1e-6)."""
    tl = random_timeline(tmp_path, seed)
    plain = solved(tl, "plain")
    assert plain is not None
    for path in ORTOOLS:
        plan = solve_timeline(tl, path=path)
        assert plan.summary["solver"] == path
        assert plan.summary["objective"] == pytest.approx(plain.summary["objective"], rel=1e-7), path
        assert plan.summary["cost"]["discounted_usd"] == pytest.approx(
            plain.summary["cost"]["discounted_usd"], rel=1e-5, abs=1e-3), path
        if path == "ortools-glop":
            assert_period_rules(tl, plan)
        assert check_timeline_plan(tl, plan.placement, plan.service).ok, path


@pytest.mark.parametrize("path", ORTOOLS)
def test_ortools_paths_name_the_period_and_limit_of_a_stock_trap(tmp_path, path):
    """Re-planning on OR-Tools: keeping B's 100 IND units under B's new 40 MTPP cap is exit 3
    naming the period and the limit, as on HiGHS."""
    f = periods_folder(tmp_path)
    first = tmp_path / "first"
    assert run("solve", f, "--out", first).exit_code == 0
    (f / "periods.csv").write_text((f / "periods.csv").read_text().replace("B,0.25,open.toml", "B,0.25,cap.toml"))
    trap = run("solve", f, "--out", tmp_path / "trap", "--path", path, "--freeze-through", "B", "--plan", first)
    assert trap.exit_code == 3 and "in period B" in trap.output and "tier2_cap[IND]" in trap.output, trap.output
