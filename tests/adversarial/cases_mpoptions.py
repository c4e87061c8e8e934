"""solve options and compare on multi-period scenarios (README "Multi-period plans"): --threads
where HiGHS does not solve, --report onto an input, a misspelt --baseline refused before any
work (exit 2, nothing written); ortools-glop writes a plan that check confirms, ortools-pdlp is
refused (on this scenario its plan broke a share limit beyond check's tolerance); compare
refuses a multi-period plan against a snapshot plan either way round."""
from __future__ import annotations

from pathlib import Path

from harness import Case, runner

from cli import app

SOLVE = ("solve", "{scn}", "--out", "{tmp}/p")
PERIODS = "period,years\nQ1,0.25\nQ2,0.25\n"


def periods(t: Path) -> None:
    """Make the scenario multi-period (periods.csv)."""
    (t / "scn" / "periods.csv").write_text(PERIODS)


def multi_period_plan(t: Path) -> None:
    """A multi-period copy of the scenario at scn2/, solved into mp/ (the snapshot plan is plan/)."""
    (t / "scn2").mkdir()
    for f in (t / "scn").iterdir():
        (t / "scn2" / f.name).write_bytes(f.read_bytes())
    (t / "scn2" / "periods.csv").write_text(PERIODS)
    r = runner.invoke(app, ["solve", str(t / "scn2"), "--out", str(t / "mp")])
    assert r.exit_code == 0, r.output


def plan_checks(t: Path, output: str) -> None:
    r = runner.invoke(app, ["check", str(t / "scn"), str(t / "p")])
    assert r.exit_code == 0 and "compliant" in r.output and "every period (2)" in r.output, r.output


CASES = [
    Case("mp-threads-ortools", "options", (*SOLVE, "--path", "ortools-glop", "--threads", "2"), 2,
         ("--threads 2", "fast and plain"), setup=periods),
    Case("mp-threads-pulp", "options", (*SOLVE, "--path", "pulp", "--threads", "1"), 2,
         ("--threads 1", "fast and plain"), setup=periods),
    Case("mp-report-onto-input", "file-path", (*SOLVE, "--report", "{scn}/periods.csv"), 2,
         ("--report", "would overwrite"), setup=periods),
    Case("mp-baseline-misspelt", "policy", (*SOLVE, "--baseline", "aidr-2052"), 2,
         ("--baseline aidr-2052",), setup=periods),
    Case("mp-ortools-glop-works", "options", (*SOLVE, "--path", "ortools-glop", "--baseline", "none"), 0,
         ("solver ortools-glop", "cost of compliance vs none over 2 periods"), setup=periods, writes=("p",),
         check=plan_checks),
    Case("mp-ortools-pdlp-refused", "options", (*SOLVE, "--path", "ortools-pdlp"), 2,
         ("--path ortools-pdlp: refused on a multi-period scenario", "beyond fleetopt check's"), setup=periods),
    Case("mp-compare-multi-vs-snapshot", "plan-files", ("compare", "{tmp}/mp", "{plan}", "--out", "{tmp}/d.csv"), 2,
         ("a multi-period plan (Q1, Q2)", "a snapshot plan", "do not compare period by period"),
         needs_plan=True, setup=multi_period_plan),
    Case("mp-compare-snapshot-vs-multi", "plan-files", ("compare", "{plan}", "{tmp}/mp"), 2,
         ("a snapshot plan", "a multi-period plan (Q1, Q2)"), needs_plan=True, setup=multi_period_plan),
    Case("mp-compare-two-multi-period-plans", "plan-files", ("compare", "{tmp}/mp", "{tmp}/mp"), 0,
         ("headline over the horizon", "per period", "Q2: served"), needs_plan=True, setup=multi_period_plan),
]
