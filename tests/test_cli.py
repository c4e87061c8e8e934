"""CLI tests (typer's CliRunner): every command on its happy path and on each error path,
asserting the message and the exit code. Bad input: exit 2, one line per problem, no traceback,
nothing written."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


@pytest.fixture
def good(tmp_path):
    return write_scenario(
        tmp_path / "scn",
        [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0,
                                                          in_country_only=True)],
        installed=[("US", "H", 10)], links=None)


def run(*args):
    """Invoke the CLI in process. CliRunner catches exceptions, so the output never shows a
    traceback: what proves that none escaped is ``result.exception`` being a clean exit."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"exception escaped: {result.exception!r}\n{result.output}"
    return result


def test_solve_check_validate_happy_path(good, tmp_path):
    out = tmp_path / "plan"
    r = run("solve", good, "--out", out)
    assert r.exit_code == 0, r.output
    assert "served:" in r.output and "BINDING" in r.output and "tier2_share[POL]" in r.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("status", "objective", "served_tpp", "demand_tpp", "total_tpp", "cost", "home_share",
                "tier1_share", "countries", "limits", "solver", "timings"):
        assert key in summary
    assert set(summary["timings"]) >= {"load", "validate", "build", "solve", "extract", "write"}
    placement = pd.read_csv(out / "placement.csv")
    assert list(placement.columns) == ["site_id", "country", "tier", "sku", "installed_units", "new_units",
                                       "units", "tpp", "power_kw", "racks"]
    assert list(pd.read_csv(out / "service.csv").columns) == ["market_id", "site_id", "tpp", "rtt_ms"]
    r = run("check", good, out)
    assert r.exit_code == 0 and "compliant" in r.output
    r = run("validate", good)
    assert r.exit_code == 0 and "valid under policy aidr-2025" in r.output


@pytest.mark.parametrize("path", ["plain", "pulp"])
def test_solve_reference_paths(good, tmp_path, path):
    r = run("solve", good, "--out", tmp_path / path, "--path", path)
    assert r.exit_code == 0, r.output
    assert run("check", good, tmp_path / path).exit_code == 0


def test_policy_flag_and_check_uses_plan_policy(good, tmp_path):
    out = tmp_path / "none"
    assert run("solve", good, "--out", out, "--policy", "none").exit_code == 0
    assert run("check", good, out).exit_code == 0            # judged under the plan's policy
    r = run("check", good, out, "--policy", "aidr-2025")      # POL gets 50 % under none
    assert r.exit_code == 1 and "broken: tier2_share (POL)" in r.output


def test_check_broken_plan_exits_1(good, tmp_path):
    out = tmp_path / "plan"
    run("solve", good, "--out", out)
    p = pd.read_csv(out / "placement.csv")
    p.loc[p["site_id"] == "US", ["new_units", "units"]] += 1e6
    p.to_csv(out / "placement.csv", index=False)
    r = run("check", good, out)
    assert r.exit_code == 1
    assert "broken: inventory" in r.output and "offending ids: H" in r.output


def test_check_missing_plan_files(good, tmp_path):
    r = run("check", good, tmp_path / "nowhere")
    assert r.exit_code == 2 and "nowhere: not found; a plan folder holds placement.csv" in r.output
    (tmp_path / "empty").mkdir()
    r = run("check", good, tmp_path / "empty")
    assert r.exit_code == 2 and "placement.csv: file missing" in r.output and "service.csv: file missing" in r.output


def test_infeasible_exit_3(good, tmp_path):
    pd.DataFrame([("US", "H", 10), ("PL", "H", 5)], columns=["site_id", "sku", "units"]).to_csv(
        good / "installed.csv", index=False)
    pd.DataFrame([chip(inventory=0)]).to_csv(good / "chips.csv", index=False)
    out = tmp_path / "plan"
    r = run("solve", good, "--out", out)
    assert r.exit_code == 3
    assert "Tier-2 country share limit for POL" in r.output and "33.3%" in r.output
    assert not out.exists()


def _edit(folder, file, fn):
    path = folder / file
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(table).to_csv(path, index=False)


BAD_INPUTS = {
    "missing file": (lambda f: (f / "chips.csv").unlink(), ["chips.csv: file missing"]),
    "missing column": (lambda f: _edit(f, "sites.csv", lambda t: t.drop(columns="racks")),
                       ["sites.csv: missing column(s) racks"]),
    "unparsable": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(power_mw=["12MW", "1", "1"])),
                   ["sites.csv: column power_mw has values that are not numbers in rows US (12MW)"]),
    "nan": (lambda f: _edit(f, "markets.csv", lambda t: t.assign(demand_tpp=["nan", "1"])),
            ["markets.csv: column demand_tpp must be finite; rows us (nan)"]),
    "inf": (lambda f: _edit(f, "chips.csv", lambda t: t.assign(inventory=["inf"])),
            ["chips.csv: column inventory must be finite; rows H (inf)"]),
    "negative capacity": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(power_mw=["-3", "1", "-1.5"])),
                          ["sites.csv: column power_mw must be between 0 and 1e5", "rows US (-3), CN (-1.5)"]),
    "negative demand": (lambda f: _edit(f, "markets.csv", lambda t: t.assign(demand_tpp=["500", "-1"])),
                        ["markets.csv: column demand_tpp must be 0 or between 100 and 1e13", "rows pl (-1)"]),
    "demand below 100 TPP": (lambda f: _edit(f, "markets.csv", lambda t: t.assign(demand_tpp=["0", "5"])),
                             ["markets.csv: column demand_tpp must be 0 or between 100 and 1e13", "rows pl (5)"]),
    "duplicate ids": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(site_id=["US", "US", "CN"])),
                      ["sites.csv: duplicate site_id US"]),
    "unknown country": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(country=["USA", "XXX", "CHN"])),
                        ["sites.csv: column country has unknown country code(s) in rows PL (XXX)"]),
    "unknown sku in installed": (lambda f: _edit(f, "installed.csv", lambda t: t.assign(sku=["Z9"])),
                                 ["installed.csv: unknown sku Z9"]),
    "unknown site in links": (lambda f: pd.DataFrame({"market_id": ["us"], "site_id": ["MARS"]}).to_csv(
        f / "links.csv", index=False), ["links.csv: unknown site_id MARS"]),
    "installed over power": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(power_mw=["0.001", "1", "1"])),
                             ["installed.csv: the installed fleet already exceeds sites.csv power_mw at sites US"]),
    "installed over racks": (lambda f: _edit(f, "sites.csv", lambda t: t.assign(racks=["0.5", "1", "1"])),
                             ["installed.csv: the installed fleet already exceeds sites.csv racks at sites US"]),
    "installed in tier 3": (lambda f: _edit(f, "installed.csv", lambda t: t.assign(site_id=["CN"])),
                            ["installed.csv: installed units at Tier-3 site(s) CN"]),
    "policy unknown key": (lambda f: (f / "policy.toml").write_text("min_home_shar = 0.5\n"),
                           ["policy.toml: unknown key(s) min_home_shar"]),
    "policy share out of range": (lambda f: (f / "policy.toml").write_text("min_tier1_share = 1.5\n"),
                                  ["min_tier1_share = 1.5 must be a number in [0, 1]"]),
    "bad boolean": (lambda f: _edit(f, "markets.csv", lambda t: t.assign(in_country_only=["maybe", "true"])),
                    ["markets.csv: column in_country_only must be true or false; rows us (maybe)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exit_2(good, tmp_path, case):
    breaker, expected = BAD_INPUTS[case]
    breaker(good)
    out = tmp_path / "plan"
    for args in (("validate", good), ("solve", good, "--out", out)):
        r = run(*args)
        assert r.exit_code == 2, r.output
        for text in expected:
            assert text in r.output, r.output
        assert all(line.startswith("error: ") for line in r.output.strip().splitlines())
    assert not out.exists()


def test_several_problems_reported_together(good):
    _edit(good, "sites.csv", lambda t: t.assign(power_mw=["-1", "x", "1"], country=["USA", "QQQ", "CHN"]))
    r = run("validate", good)
    assert r.exit_code == 2
    assert "power_mw must be between 0 and 1e5" in r.output and "not numbers" in r.output and "QQQ" in r.output


def test_unknown_policy_preset(good, tmp_path):
    r = run("solve", good, "--out", tmp_path / "x", "--policy", "aidr-2099")
    assert r.exit_code == 2 and "unknown preset 'aidr-2099'" in r.output and "aidr-2025" in r.output


def test_missing_scenario_folder(tmp_path):
    r = run("validate", tmp_path / "nope")
    assert r.exit_code == 2 and "scenario folder not found" in r.output


def test_existing_plan_replaced_atomically_a_user_folder_never(good, tmp_path):
    out = tmp_path / "plan"
    assert run("solve", good, "--out", out).exit_code == 0
    first = json.loads((out / "summary.json").read_text())["run"]["started_utc"]
    assert run("solve", good, "--out", out, "--policy", "none").exit_code == 0    # fleetopt's own plan
    assert json.loads((out / "summary.json").read_text())["policy"]["name"] == "none"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan")]
    assert first
    (out / "stale.txt").write_text("mine")
    r = run("solve", good, "--out", out)
    assert r.exit_code == 2 and "did not write (stale.txt)" in r.output
    assert (out / "stale.txt").read_text() == "mine" and (out / "summary.json").exists()


def test_explain_command(good):
    r = run("explain", good)
    assert r.exit_code == 0, r.output
    assert "tier2_share[POL]" in r.output and "per +1 pp of the maximum" in r.output
    assert "unserved demand by reason" in r.output


def test_explain_bad_input(good):
    (good / "markets.csv").unlink()
    r = run("explain", good)
    assert r.exit_code == 2 and "markets.csv: file missing" in r.output


def test_generate_and_bench_commands(tmp_path):
    out = tmp_path / "fleet"
    r = run("generate", out, "--sites", 120, "--skus", 3, "--seed", 4)
    assert r.exit_code == 0 and (out / "sites.csv").exists()
    assert run("validate", out).exit_code == 0
    results = tmp_path / "RESULTS.md"
    r = run("bench", "--sizes", "60,120", "--paths", "fast,plain,pulp", "--time-limit", 120,
            "--workdir", tmp_path / "runs", "--results", results, "--skus", 3)
    assert r.exit_code == 0, r.output
    text = results.read_text()
    assert "| 120 | metro | plain | optimal |" in text and "Reproduce: `fleetopt bench" in text
    assert (tmp_path / "total_time_vs_sites.svg").read_text().count("<polyline") == 3


def test_bench_runs_site_tariffs_against_a_baseline_checkout(tmp_path):
    """--tariffs metro,site runs both fleets; --baseline runs another checkout's fast path on them
    (here this checkout itself: the objectives agree), with the per-phase columns and scaling."""
    root = Path(__file__).resolve().parents[1]
    results = tmp_path / "RESULTS.md"
    r = run("bench", "--sizes", "40,80", "--paths", "fast", "--tariffs", "metro,site", "--skus", 3,
            "--baseline", root, "--baseline-label", "self", "--baseline-max-sites", 40,
            "--workdir", tmp_path / "runs", "--results", results)
    assert r.exit_code == 0, r.output
    text = results.read_text()
    for row in ("| 80 | metro | fast | optimal |", "| 80 | site | fast | optimal |", "| 40 | site | fast@self | optimal |",
                "| 80 | site | fast@self | skipped (above --baseline-max-sites 40) |"):
        assert row in text
    assert "value_stage | cost_stage" in text and "## Scaling" in text and "| site | fast | 40-80 |" in text
    assert "Conditions: load average" in text


def test_bench_flags_a_baseline_that_disagrees(tmp_path):
    """A checkout in release 0.1's layout (optimizer/bench.py) whose objective differs: exit 5."""
    old = tmp_path / "old" / "optimizer"
    old.mkdir(parents=True)
    (old / "__init__.py").write_text("")
    (old / "bench.py").write_text("def run_cell(scenario, path, out):\n"
                                  "    return {'status': 'optimal', 'objective': 1.0, 'load': 0.0}\n")
    r = run("bench", "--sizes", "40", "--paths", "fast", "--tariffs", "site", "--skus", 3,
            "--baseline", old.parent, "--workdir", tmp_path / "runs", "--results", tmp_path / "R.md")
    assert r.exit_code == 5 and "| 40 | site | fast@0.1 | optimal |" in (tmp_path / "R.md").read_text()
    assert run("bench", "--sizes", "40", "--tariffs", "city", "--baseline", tmp_path,
               "--workdir", tmp_path / "runs").exit_code == 2


def test_bench_rejects_unknown_path(tmp_path):
    r = run("bench", "--sizes", "60", "--paths", "fast,gurobi", "--workdir", tmp_path)
    assert r.exit_code == 2 and "gurobi" in r.output


def test_bench_records_time_limit(tmp_path):
    from optimizer.bench.harness import BenchConfig, run_benchmark
    cfg = BenchConfig([80, 100], ["fast", "ortools-pdlp"], time_limit=0.5, skus=3, workdir=tmp_path)
    table = run_benchmark(cfg, echo=lambda *_: None)
    pdlp = table.loc[table["path"] == "ortools-pdlp"]
    assert list(pdlp["status"]) == ["time_limit", "skipped (timed out at a smaller size)"]


def test_soft_mode_gives_a_plan_for_an_infeasible_scenario(good, tmp_path):
    pd.DataFrame([("US", "H", 10), ("PL", "H", 5)], columns=["site_id", "sku", "units"]).to_csv(
        good / "installed.csv", index=False)
    pd.DataFrame([chip(inventory=0)]).to_csv(good / "chips.csv", index=False)
    out = tmp_path / "soft"
    r = run("solve", good, "--out", out, "--soft-price", "tier2_share=3")
    assert r.exit_code == 0, r.output
    assert "soft limit violated: tier2_share[POL] by 3,950,000 TPP (26.33 points), penalty 11,850,000" in r.output
    assert "VIOLATED" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "lp-soft" and summary["soft"]["prices_per_tpp"]["tier2_share"] == 3.0
    # the audit still reports the broken limit: soft plans are priced, not compliant
    assert run("check", good, out).exit_code == 1
    r = run("solve", good, "--out", tmp_path / "x", "--soft-price", "tier9=1")
    assert r.exit_code == 2 and "unknown limit family tier9" in r.output


def test_soft_with_high_prices_reproduces_hard_optimum(good, tmp_path):
    hard, soft = tmp_path / "hard", tmp_path / "soft"
    assert run("solve", good, "--out", hard).exit_code == 0
    assert run("solve", good, "--out", soft, "--soft-price", "home_share=1000", "--soft-price", "tier1_share=1000",
               "--soft-price", "tier2_share=1000", "--soft-price", "tier2_cap=1000").exit_code == 0
    a = json.loads((hard / "summary.json").read_text())
    b = json.loads((soft / "summary.json").read_text())
    assert b["objective"] == pytest.approx(a["objective"], rel=1e-9) and b["soft"]["violations"] == []


def test_baseline_reports_cost_of_compliance(good, tmp_path):
    out = tmp_path / "plan"
    r = run("solve", good, "--out", out, "--baseline", "none")
    assert r.exit_code == 0, r.output
    assert "cost of compliance vs none (baseline optimal, lp): value -" in r.output
    base = json.loads((out / "summary.json").read_text())["baseline"]
    # without limits all 50 MTPP of Polish demand is served (value 1 per TPP); with 7 % far less
    assert base["baseline_value"] == pytest.approx(100 * M, rel=1e-6)
    assert base["value_change"] < 0
    pol = next(c for c in base["countries"] if c["iso3"] == "POL")
    assert pol["change_served_tpp"] < 0


def test_report_option_writes_html(good, tmp_path):
    r = run("solve", good, "--out", tmp_path / "plan", "--report", tmp_path / "r.html")
    assert r.exit_code == 0 and (tmp_path / "r.html").read_text().startswith("<!doctype html>")


def test_sweep_and_compare_commands(good, tmp_path):
    out = tmp_path / "sweep"
    r = run("sweep", good, "--out", out, "--vary", "max_tier2_country_share=0.05:0.07:0.01",
            "--each-tier2-country-to-tier1")
    assert r.exit_code == 0, r.output
    assert "6 variants: 6 optimal" in r.output
    assert "value of moving each country to Tier 1" in r.output and "POL" in r.output
    assert (out / "results.csv").is_file() and (out / "tier_moves.csv").is_file()
    again = run("sweep", good, "--out", out, "--vary", "max_tier2_country_share=0.05:0.07:0.01",
                "--each-tier2-country-to-tier1")
    assert again.exit_code == 0 and "6 variants: 6 optimal" in again.output      # resumed: nothing left
    a, b = tmp_path / "a", tmp_path / "b"
    run("solve", good, "--out", a)
    run("solve", good, "--out", b, "--policy", "none")
    r = run("compare", a, b)
    assert r.exit_code == 0 and "countries" in r.output and "POL" in r.output and "markets" in r.output
    r = run("compare", out, out)
    assert r.exit_code == 0 and "variants" in r.output


def test_sweep_bad_input(good, tmp_path):
    r = run("sweep", good, "--out", tmp_path / "s", "--vary", "max_share=0.1")
    assert r.exit_code == 2 and "unknown parameter(s) max_share" in r.output
    r = run("sweep", good, "--out", tmp_path / "s", "--grid", tmp_path / "missing.toml")
    assert r.exit_code == 2 and "file not found" in r.output
    r = run("compare", tmp_path, tmp_path)
    assert r.exit_code == 2 and "must be two plan folders" in r.output
