"""Fixes from the trust reviews, output side, that need more than one command line (the CLI
cases are in tests/adversarial/cases_fixes_io.py): the lock under contention, the path
re-checked under the lock, a half-done --restart, each variant plan's manifest policy, resume
keys (variant policy file, shipped countries.csv, fleetopt version), and standard output that
cannot be written (a closed pipe, a full disk) keeping each command's own exit code."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import M, chip, market, site, write_scenario

import optimizer.io.manifest as manifest
from optimizer.batch.sweep import discard_sweep, run_sweep
from optimizer.batch.variants import grid_variants
from optimizer.errors import InputError
from optimizer.inputs.validation import load_scenario
from optimizer.outdir import check_out_dir, folder_kind, out_lock

ROOT = Path(__file__).resolve().parent.parent
DEAD_PID = 999_999_999


@pytest.fixture
def scn(tmp_path):
    return write_scenario(
        tmp_path / "scn",
        [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0)])


def sweep(scn, out, vary=("max_tier2_country_share=0.05,0.07",), policies=()):
    base = load_scenario(scn)
    return run_sweep(scn, grid_variants(None, list(vary), list(policies), False, base), out)


# ------------------------------------------------------------------------------------------
# The lock
# ------------------------------------------------------------------------------------------

def test_a_held_lock_is_held_whatever_pid_its_file_names(tmp_path):
    """Two runs that both saw a dead pid must not both take the lock: holding is the flock, not
    the file's words (a file naming a dead pid while a run holds it is still held)."""
    lock = tmp_path / ".plan.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{DEAD_PID} {os.uname().nodename}\n".encode())
    try:
        with pytest.raises(InputError, match="another fleetopt run"):
            with out_lock(tmp_path / "plan"):
                pass
    finally:
        os.close(fd)
    with out_lock(tmp_path / "plan"):        # let go: taken (a dead pid on this host)
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()


def test_a_lock_from_another_host_counts_as_live(tmp_path):
    (tmp_path / ".plan.lock").write_text(f"{DEAD_PID} some-other-host\n")
    with pytest.raises(InputError, match=f"pid {DEAD_PID} on some-other-host"):
        with out_lock(tmp_path / "plan"):
            pass


def test_the_path_rechecked_under_the_lock_must_be_the_one_checked(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    first = check_out_dir(link, "plan")
    link.unlink()
    link.symlink_to(tmp_path / "b")          # changed between the check and the lock
    with pytest.raises(InputError, match="a link changed"):
        check_out_dir(link, "plan", checked=first)


# ------------------------------------------------------------------------------------------
# Sweeps: --restart, manifests, resume keys
# ------------------------------------------------------------------------------------------

def test_restart_stopped_half_way_leaves_a_sweep_folder(scn, tmp_path, monkeypatch):
    out = tmp_path / "sw"
    sweep(scn, out)
    real = Path.unlink

    def crash_on_parquet(self, *a, **k):
        if self.name == "results.parquet":
            raise KeyboardInterrupt
        return real(self, *a, **k)
    monkeypatch.setattr(Path, "unlink", crash_on_parquet)
    with pytest.raises(KeyboardInterrupt):
        discard_sweep(out)
    monkeypatch.undo()
    assert folder_kind(out) == "sweep"       # still ours: --restart can finish the job
    sweep(scn, out)


def test_each_variant_plan_records_its_own_policy_in_the_manifest(scn, tmp_path):
    out = tmp_path / "sw"
    sweep(scn, out, vary=(), policies=("none", "aidr-2025"))
    for plan in (out / "variants").glob("*/plan"):
        summary = json.loads((plan / "summary.json").read_text())
        assert summary["run"]["policy"]["name"] == summary["policy"]["name"], plan
    names = {json.loads((p / "summary.json").read_text())["run"]["policy"]["name"]
             for p in (out / "variants").glob("*/plan")}
    assert names == {"none", "aidr-2025"}


def test_resume_refused_when_a_variant_policy_file_changed(scn, tmp_path):
    pol = tmp_path / "v.toml"
    shutil.copyfile(ROOT / "datasets" / "policies" / "none.toml", pol)
    sweep(scn, tmp_path / "sw", vary=(), policies=(str(pol),))
    pol.write_text(pol.read_text() + "\n# edited\n")
    with pytest.raises(InputError, match="v.toml changed"):
        sweep(scn, tmp_path / "sw", vary=(), policies=(str(pol),))


def test_resume_refused_when_the_shipped_countries_changed(scn, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "datasets", data, ignore=shutil.ignore_patterns("sample"))
    monkeypatch.setattr(manifest, "data_dir", lambda: data)
    sweep(scn, tmp_path / "sw")
    with open(data / "countries.csv", "a") as fh:
        fh.write("\n")
    with pytest.raises(InputError, match="datasets/countries.csv changed"):
        sweep(scn, tmp_path / "sw")


def test_resume_refused_under_another_fleetopt_version(scn, tmp_path, monkeypatch):
    sweep(scn, tmp_path / "sw")
    monkeypatch.setattr(manifest, "fleetopt_version", lambda: "99.0")
    with pytest.raises(InputError, match=r"fleetopt 99.0 \(was"):
        sweep(scn, tmp_path / "sw")


def test_resume_refused_under_other_solver_packages(scn, tmp_path, monkeypatch):
    """Another HiGHS build (e.g. with or without highspy-extras' HiPO) may end at another optimal
    vertex: a sweep is not resumed across it."""
    sweep(scn, tmp_path / "sw")
    real = manifest._package_version
    monkeypatch.setattr(manifest, "_package_version", lambda name: "0.0.1" if name == "highspy" else real(name))
    with pytest.raises(InputError, match=r"the solver packages differ \(highspy 0.0.1, .*; was highspy "):
        sweep(scn, tmp_path / "sw")


# ------------------------------------------------------------------------------------------
# Standard output that cannot be written
# ------------------------------------------------------------------------------------------

def fleetopt_to(stdout, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def closed_pipe():
    """A pipe whose reader is gone (as after ``| head -1``): every write is EPIPE."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.fixture
def plan(scn, tmp_path):
    r = fleetopt_to(subprocess.DEVNULL, "solve", scn, "--out", tmp_path / "plan")
    assert r.returncode == 0, r.stderr
    return tmp_path / "plan"


@pytest.mark.parametrize("home_share, verdict", [(0.0, 0), (0.99, 1)], ids=["compliant", "not-compliant"])
def test_check_into_a_closed_pipe_keeps_its_verdict(scn, plan, tmp_path, home_share, verdict):
    policy = tmp_path / "p.toml"
    policy.write_text(f'name = "p"\nhome_country = "USA"\nmin_home_share = {home_share}\n')
    write = closed_pipe()
    try:
        r = fleetopt_to(write, "check", scn, plan, "--policy", policy)
    finally:
        os.close(write)
    assert r.returncode == verdict, r.stderr
    assert "Traceback" not in r.stderr
    cut = [line for line in r.stderr.splitlines() if "standard output" in line]
    assert len(cut) == 1 and cut[0].startswith("error:"), r.stderr


def test_solve_to_a_full_disk_stdout_still_exits_0_with_its_plan(scn, tmp_path):
    with open("/dev/full", "w") as full:
        r = fleetopt_to(full, "solve", scn, "--out", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    assert "No space left" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "p" / "summary.json").is_file()


def test_files_fleetopt_wrote_are_replaced_on_a_rerun(tmp_path):
    """A report, a solver log and a comparison that fleetopt wrote are replaced when the same path
    is named again (a user's file there is refused: tests/adversarial/cases_fixes_io.py)."""
    from typer.testing import CliRunner

    from cli import app
    from optimizer.progress import SOLVER_LOG_HEADER
    runner = CliRunner()
    sample = ROOT / "datasets" / "sample"
    report, log, table = tmp_path / "r.html", tmp_path / "s.log", tmp_path / "c.csv"
    log.write_text("[fleetopt] load\n[fleetopt] validate\n")     # a log of a version before the header line
    for out in ("a", "b"):
        r = runner.invoke(app, ["solve", str(sample), "--out", str(tmp_path / out), "--report", str(report),
                                "--log", str(log)])
        assert r.exit_code == 0 and r.exception is None, r.output
        assert log.read_text().startswith(SOLVER_LOG_HEADER)
    for _ in range(2):
        r = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(table)])
        assert r.exit_code == 0 and r.exception is None, r.output
        r = runner.invoke(app, ["report", str(sample), str(tmp_path / "a"), "--out", str(report)])
        assert r.exit_code == 0 and r.exception is None, r.output
    assert table.read_text().startswith("table,")


def test_bench_results_and_plot_are_replaced_only_when_a_benchmark_wrote_them(tmp_path):
    from optimizer.bench.harness import RESULTS_TITLE, SVG_START, SWEEP_TITLE, check_results_paths, plot_path
    results = tmp_path / "RESULTS-x.md"
    check_results_paths(results)                          # nothing there yet
    results.write_text(RESULTS_TITLE + "\n\nold run\n")
    plot_path(results).write_text(SVG_START + "/>")
    check_results_paths(results)                          # a rerun replaces its own files
    plot_path(results).write_text("my drawing\n")
    with pytest.raises(InputError, match="not a benchmark plot"):
        check_results_paths(results)
    with pytest.raises(InputError, match="not a benchmark results file"):
        check_results_paths(results, SWEEP_TITLE, plot=False)


def test_a_report_named_through_a_symlink_is_written_where_the_link_points(tmp_path):
    """--report SCN/link.html where the link points outside the scenario: the check passed on the
    resolved path, but the report replaced the link itself inside the scenario folder (a cold
    review); it is now written at the resolved path and the folder is left as it was."""
    import shutil

    from typer.testing import CliRunner

    from cli import app
    scn = tmp_path / "scn"
    shutil.copytree(ROOT / "datasets" / "sample", scn)
    (tmp_path / "elsewhere").mkdir()
    (scn / "link.html").symlink_to(tmp_path / "elsewhere" / "r.html")
    before = sorted(p.name for p in scn.iterdir())
    r = CliRunner().invoke(app, ["solve", str(scn), "--out", str(tmp_path / "p"), "--report", str(scn / "link.html")])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert (scn / "link.html").is_symlink() and sorted(p.name for p in scn.iterdir()) == before
    assert (tmp_path / "elsewhere" / "r.html").read_text().startswith("<!")
