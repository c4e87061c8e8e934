"""`fleetopt bench --periods`: multi-period fleets in the harness, and the table of N periods
against one on the same fleet."""
from __future__ import annotations

import pandas as pd
from test_cli import run

from optimizer.bench.harness import period_ratios


def test_bench_runs_multi_period_fleets_and_gives_the_period_ratio(tmp_path):
    results = tmp_path / "R.md"
    r = run("bench", "--sizes", "30", "--paths", "fast,plain", "--periods", "2,1", "--tariffs", "site", "--skus", 2,
            "--workdir", tmp_path / "runs", "--results", results)
    assert r.exit_code == 0, r.output
    text = results.read_text()
    for row in ("| 30 | site | 1 | fast | optimal |", "| 30 | site | 2 | fast | optimal |",
                "| 30 | site | 2 | plain | optimal |", "| 30 | site | fast | 2 vs 1 |", "| 30 | site | plain | 2 vs 1 |"):
        assert row in text, row
    assert "## N periods against 1 on the same fleet" in text and "--periods 2,1" in text
    assert (tmp_path / "runs" / "fleet-30-site-p2" / "periods.csv").is_file()
    assert (tmp_path / "runs" / "plan-30-site-p2-fast" / "placement.csv").is_file()


def test_period_ratios_divide_by_the_fewest_periods_of_the_same_fleet():
    table = pd.DataFrame([
        {"sites": 10, "tariffs": "metro", "periods": 1, "path": "fast", "status": "optimal", "total": 2.0, "solve": 0.5},
        {"sites": 10, "tariffs": "metro", "periods": 12, "path": "fast", "status": "optimal", "total": 6.0, "solve": 5.0},
        {"sites": 10, "tariffs": "site", "periods": 1, "path": "fast", "status": "optimal", "total": 4.0, "solve": 1.0},
        {"sites": 10, "tariffs": "site", "periods": 12, "path": "fast", "status": "time_limit", "total": 60.0}])
    ratios = period_ratios(table).set_index("tariffs")
    assert ratios.loc["metro", "total_ratio"] == "3.0x" and ratios.loc["metro", "solve_ratio"] == "10.0x"
    assert ratios.loc["site", "total_ratio"] == ">15.0x" and ratios.loc["site", "solve_ratio"] == ""


def test_bench_periods_refuses_what_multi_period_fleets_do_not_take(tmp_path):
    (tmp_path / "old" / "optimizer").mkdir(parents=True)
    (tmp_path / "old" / "optimizer" / "__init__.py").write_text("")
    r = run("bench", "--sizes", "30", "--periods", "1,0", "--baseline", tmp_path / "old", "--paths", "fast,ortools-pdlp",
            "--workdir", tmp_path / "runs")
    assert r.exit_code == 2
    assert "--periods 1,0: expected comma-separated period counts" in r.output
    assert "--periods with --paths ortools-pdlp: refused on a multi-period scenario" in r.output
    assert "--periods with --baseline: not supported in multi-period mode yet" in r.output
    assert not (tmp_path / "runs").exists()


def test_bench_runs_the_baseline_in_its_own_environment(tmp_path):
    """--baseline-python: the baseline's cells run on that interpreter (here this checkout, as if
    it were another release, on this Python); RESULTS.md names that environment's solver versions."""
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    results = tmp_path / "R.md"
    r = run("bench", "--sizes", "30", "--paths", "fast", "--skus", 2, "--baseline", root, "--baseline-label", "same",
            "--baseline-python", sys.executable, "--workdir", tmp_path / "runs", "--results", results)
    assert r.exit_code == 0, r.output
    text = results.read_text()
    assert "| 30 | metro | fast@same | optimal |" in text
    assert f"Baseline `fast@same`: {root} in its own environment ({sys.executable}: highspy " in text
    assert f"--baseline-python {sys.executable}" in text


def test_bench_baseline_python_needs_a_baseline_and_a_file(tmp_path):
    r = run("bench", "--sizes", "30", "--baseline-python", tmp_path / "python", "--workdir", tmp_path / "runs")
    assert r.exit_code == 2 and "--baseline-python" in r.output and "needs --baseline" in r.output
    assert not (tmp_path / "runs").exists()


def fake_runs(*cells):
    """run_once for repeated_cell: hands out the given cells in order."""
    it = iter(cells)
    return lambda: dict(next(it))


def test_repeated_cell_keeps_the_median_run_and_lists_every_total():
    from optimizer.bench.harness import repeated_cell
    ok = {"status": "optimal", "objective": 7.0}
    odd = repeated_cell(fake_runs({**ok, "total": 5.0, "solve": 1}, {**ok, "total": 3.0, "solve": 2},
                                  {**ok, "total": 4.0, "solve": 3}), 3)
    assert (odd["total"], odd["solve"], odd["all_totals"]) == (4.0, 3, "5.00, 3.00, 4.00")
    even = repeated_cell(fake_runs(*({**ok, "total": t} for t in (5.0, 3.0, 4.0, 6.0))), 4)
    assert even["total"] == 4.0                     # the lower middle
    assert repeated_cell(fake_runs({**ok, "total": 2.0}), 1) == {**ok, "total": 2.0, "all_totals": "2.00"}


def test_repeated_cell_stops_at_a_run_without_a_plan_and_flags_differing_optima():
    from optimizer.bench.harness import repeated_cell
    ok = {"status": "optimal", "objective": 7.0, "total": 1.0}
    stopped = repeated_cell(fake_runs(ok, {"status": "time_limit", "total": 9.0}, ok), 3)
    assert stopped["status"] == "time_limit" and stopped["all_totals"] == "1.00, 9.00"
    failed = repeated_cell(fake_runs({"status": "failed: boom", "total": 0.5}, ok), 2)
    assert failed["status"] == "failed: boom" and failed["all_totals"] == "0.50"
    unstable = repeated_cell(fake_runs(ok, {**ok, "objective": 7.1}, ok), 3)
    assert unstable["status"].startswith("unstable: objectives differ across repeats")
    infeasible = repeated_cell(fake_runs(ok, {"status": "infeasible", "objective": None, "total": 5.0}, ok), 3)
    assert infeasible["status"] == "infeasible" and infeasible["all_totals"] == "1.00, 5.00"
    mixed = repeated_cell(fake_runs(ok, {**ok, "status": "feasible"}, ok), 3)
    assert mixed["status"] == "unstable: statuses differ across repeats (feasible, optimal)"
    missing = repeated_cell(fake_runs(ok, {**ok, "objective": float("nan")}, {**ok, "objective": 9.0}), 3)
    assert missing["status"].startswith("unstable: objectives differ across repeats")


def test_bench_repeat_runs_each_cell_again_and_says_so(tmp_path):
    results = tmp_path / "R.md"
    r = run("bench", "--sizes", "30", "--paths", "fast", "--skus", 2, "--repeat", 2,
            "--workdir", tmp_path / "runs", "--results", results)
    assert r.exit_code == 0 and r.exception is None, r.output
    text = results.read_text()
    assert "--repeat 2" in text and "Each cell ran 2 times" in text and "| all_totals |" in text
    rows = [line for line in text.splitlines() if line.startswith("| 30 | metro | fast | optimal |")]
    assert len(rows) == 1 and rows[0].rstrip(" |").split("| ")[-1].count(", ") == 1   # two totals
    assert r.output.count("(median of ") == 1
