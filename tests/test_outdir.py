"""Never lose data: the lock (two runs at once), leftovers of a killed run, permissions, the run
manifest, and sweeps resumed only when their manifest matches (see optimizer/outdir.py and
optimizer/manifest.py; the command-line cases are in tests/adversarial/cases_output.py)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import InputError, load_scenario, solve, write_plan
from optimizer.batch.sweep import run_sweep
from optimizer.batch.variants import grid_variants
from optimizer.outdir import clean_leftovers, out_lock

ROOT = Path(__file__).resolve().parent.parent
DEAD_PID = 999_999_999


@pytest.fixture
def scn(tmp_path):
    return write_scenario(
        tmp_path / "scn",
        [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0)],
        installed=[("US", "H", 10)])


def test_a_second_writer_is_refused_while_the_first_holds_the_lock_then_takes_a_dead_ones(scn, tmp_path):
    out = tmp_path / "plan"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from optimizer.outdir import out_lock\n"
         "with out_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        plan = solve(load_scenario(scn))
        with pytest.raises(InputError, match=f"another fleetopt run \\(pid {holder.pid}\\)"):
            write_plan(plan, out)
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / ".plan.lock").exists()          # killed: its lock stays behind, with a dead pid
    write_plan(plan, out)                              # ... and is taken over
    assert (out / "summary.json").is_file() and not (tmp_path / ".plan.lock").exists()


def test_two_solves_into_one_folder_at_once_leave_one_whole_plan(scn, tmp_path):
    out = tmp_path / "plan"
    cmd = [sys.executable, "-c", "from cli import app; app()", "solve", str(scn), "--out", str(out)]
    procs = [subprocess.Popen([*cmd, "--policy", p], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for p in ("none", "aidr-2025")]
    results = [(p.wait(), p.stdout.read()) for p in procs]
    assert any(code == 0 for code, _ in results), results
    for code, output in results:
        assert code == 0 or (code == 2 and "another fleetopt run" in output), output
    summary = json.loads((out / "summary.json").read_text())
    alone = solve(load_scenario(scn, summary["policy"]["name"]))     # the winner's files belong together
    written = pd.read_csv(out / "placement.csv", dtype={"site_id": str, "sku": str})
    assert written["new_units"].to_numpy() == pytest.approx(alone.placement["new_units"].to_numpy())
    assert sorted(os.listdir(out)) == sorted(summary["run"]["files"])
    assert {"placement.csv", "service.csv", "summary.json"} <= set(os.listdir(out))
    assert sorted(os.listdir(tmp_path)) == ["plan", "scn"]


def test_leftovers_of_dead_runs_are_cleaned_and_a_dead_swap_put_back(tmp_path):
    target = tmp_path / "plan"
    (tmp_path / f".plan.old-{DEAD_PID}-x").mkdir()                 # killed between the two renames
    (tmp_path / f".plan.old-{DEAD_PID}-x" / "summary.json").write_text("{}")
    (tmp_path / f".plan.tmp-{DEAD_PID}-y").mkdir()
    (tmp_path / f".plan.tmp-{os.getpid()}-z").mkdir()               # a live run's: kept
    (tmp_path / f".other.tmp-{DEAD_PID}-w").mkdir()                 # another target's: kept
    clean_leftovers(target)
    assert (target / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["plan", f".plan.tmp-{os.getpid()}-z", f".other.tmp-{DEAD_PID}-w"])


def test_files_follow_the_umask(scn, tmp_path):
    old = os.umask(0o027)
    try:
        write_plan(solve(load_scenario(scn)), tmp_path / "plan")
    finally:
        os.umask(old)
    assert (tmp_path / "plan").stat().st_mode & 0o777 == 0o750
    assert {(p.stat().st_mode & 0o777) for p in (tmp_path / "plan").iterdir()} == {0o640}


def test_lock_parents_made_for_nothing_are_removed(tmp_path):
    with pytest.raises(RuntimeError):
        with out_lock(tmp_path / "a" / "b" / "plan"):
            assert (tmp_path / "a" / "b" / ".plan.lock").is_file()
            raise RuntimeError
    assert not (tmp_path / "a").exists()


def test_manifest_records_versions_command_inputs_and_policy(scn, tmp_path):
    write_plan(solve(load_scenario(scn, "aidr-2025")), tmp_path / "plan")
    run = json.loads((tmp_path / "plan" / "summary.json").read_text())["run"]
    assert run["schema"] == 1 and run["kind"] == "plan" and run["fleetopt_version"]
    assert set(run["solvers"]) == {"highspy", "highspy-extras", "ortools", "pulp"} and run["solvers"]["highspy"]
    assert run["command"] == sys.argv and run["started_utc"].endswith("+00:00")
    inputs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in scn.iterdir()}
    assert run["scenario"]["inputs"] == inputs and set(inputs) >= {"sites.csv", "chips.csv", "markets.csv"}
    assert run["policy"]["name"] == "aidr-2025" and len(run["policy"]["sha256"]) == 64


def sweep(scn, out, policy=None, restart=False, values="0.05,0.07"):
    variants = grid_variants(None, [f"max_tier2_country_share={values}"], [], False, load_scenario(scn, policy))
    return run_sweep(scn, variants, out, policy=policy, restart=restart)


def test_sweep_resumes_only_on_the_same_inputs(scn, tmp_path):
    out = tmp_path / "sw"
    assert sweep(scn, out).attrs["skipped"] == 0
    assert sweep(scn, out).attrs["skipped"] == 2
    assert sweep(scn, out, values="0.05,0.07,0.09").attrs["skipped"] == 2      # more variants: resumed
    chips = scn / "chips.csv"
    assert ",100," in chips.read_text()
    chips.write_text(chips.read_text().replace(",100,", ",90,"))
    with pytest.raises(InputError, match="chips.csv changed.*use a new --out, or --restart"):
        sweep(scn, out)
    with pytest.raises(InputError, match="the policy differs"):
        sweep(scn, out, policy="none")
    table = sweep(scn, out, restart=True)
    assert table.attrs["skipped"] == 0 and len(table) == 2
    assert len(list((out / "variants").iterdir())) == 2        # the third variant's results went too


def test_sweep_value_none_in_csv_and_parquet(scn, tmp_path):
    sweep(scn, tmp_path / "sw", values="0.07,none")
    for table in (pd.read_csv(tmp_path / "sw" / "results.csv"), pd.read_parquet(tmp_path / "sw" / "results.parquet")):
        assert sorted(table["param:max_tier2_country_share"].astype(str)) == ["0.07", "none"]
        assert (table["status"] == "optimal").all()


def test_cli_manifest_has_the_options_as_resolved(scn, tmp_path):
    from typer.testing import CliRunner

    from cli import app
    (tmp_path / "link").symlink_to(tmp_path, target_is_directory=True)
    r = CliRunner().invoke(app, ["solve", str(tmp_path / "link" / "scn"), "--out", str(tmp_path / "link" / "plan"),
                                 "--policy", "none"])
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "plan" / "summary.json").read_text())["run"]
    assert run["options"]["out"] == str(tmp_path.resolve() / "plan")
    assert run["options"]["policy"] == "none" and run["options"]["path"] == "fast"
    assert run["policy"]["name"] == "none" and run["scenario"]["path"] == str(scn.resolve())
