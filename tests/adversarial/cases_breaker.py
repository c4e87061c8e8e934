"""What a careless capacity planner tried on this session's multi-period and money features, and
the bugs it found (each case failed before its fix)."""
from __future__ import annotations

from pathlib import Path

from cases_columns import add_column
from cases_money import DOLLARS
from cases_periods import DELIVERIES, PERIODS, files
from cases_sweeps import results
from harness import Case

TIMELINE = files(periods=PERIODS, deliveries=DELIVERIES)


def timeline_plan(t: Path) -> None:
    """A multi-period scenario and a plan of it at ``old/`` (the plan re-planning keeps)."""
    from harness import runner

    from cli import app
    TIMELINE(t)
    r = runner.invoke(app, ["solve", str(t / "scn"), "--out", str(t / "old")])
    assert r.exit_code == 0, r.output


MP_RESULTS = "variant,status,objective,served_pct,cost_usd,binding_limits,value_unit,periods,margin_usd\n"


def timeline_plan_passes_check(t: Path, output: str) -> None:
    from optimizer.inputs.timeline import load_timeline
    from optimizer.io.planfiles import read_plan
    from optimizer.results.check import check_timeline_plan
    tl = load_timeline(t / "scn")
    placement, service, _ = read_plan(t / "o", tl.ids)
    report = check_timeline_plan(tl, placement, service, integer=True)
    assert report.ok, report.failures().to_string()


def value_line_over_horizon(t: Path, output: str) -> None:
    """A multi-period row's objective is Σ_t years_t·discount_t·value_t: USD over the horizon,
    never "per year" (12 quarters would read 3x too high)."""
    line = next(ln for ln in output.splitlines() if ln.strip().startswith("value"))
    assert "$3,000,000,000" in line and "per year" not in line, line


def two_dollar_timeline_plans(t: Path) -> None:
    """A multi-period scenario in dollars, solved under serve at ``a/`` and margin at ``b/``."""
    from harness import runner

    from cli import app
    DOLLARS(t)
    TIMELINE(t)
    for out, objective in (("a", "serve"), ("b", "margin")):
        r = runner.invoke(app, ["solve", str(t / "scn"), "--out", str(t / out), "--objective", objective])
        assert r.exit_code == 0, r.output


def _margin_in_compliance_line(output: str, unit: str) -> None:
    line = next(ln for ln in output.splitlines() if ln.startswith("cost of compliance"))
    assert ", margin " in line and line.rstrip().endswith(unit), line


REPLAN = ("solve", "{scn}", "--freeze-through", "Q1", "--plan", "{tmp}/old", "--out")

CASES = [
    # re-planning into the folder of the plan it keeps would replace that plan (the history)
    Case("breaker-replan-out-is-plan", "output-folder", (*REPLAN, "{tmp}/old"), 2,
         ("--out", "--plan", "old"), setup=timeline_plan),
    Case("breaker-replan-out-inside-plan", "output-folder", (*REPLAN, "{tmp}/old/new"), 2,
         ("--out", "--plan"), setup=timeline_plan),
    Case("breaker-replan-out-new-ok", "output-folder", (*REPLAN, "{tmp}/new"), 0,
         ("stock kept from the earlier plan through Q1",), setup=timeline_plan, writes=("new",)),
    # two multi-period sweeps: the value is over the horizon, not per year
    Case("breaker-compare-mp-sweeps-value-unit", "sweep", ("compare", "{tmp}/sa", "{tmp}/sb"), 0,
         ("variant v: optimal -> optimal",), check=value_line_over_horizon,
         setup=lambda t: [results(rel, f'v,optimal,{v},50,1,"[]",USD per year,12,{v / 2}\n', MP_RESULTS)(t)
                          for rel, v in (("sa", 3e9), ("sb", 4e9))]),
    # the cost of compliance of a plan in dollars names the margin it costs, not only the revenue
    Case("breaker-baseline-prints-margin", "options", ("solve", "{scn}", "--out", "{tmp}/o", "--baseline", "none",
                                                       "--objective", "margin"), 0,
         ("cost of compliance vs none", "margin ", "usd per year"), setup=DOLLARS, writes=("o",),
         check=lambda t, out: _margin_in_compliance_line(out, "USD per year")),
    Case("breaker-baseline-prints-margin-periods", "periods", ("solve", "{scn}", "--out", "{tmp}/o", "--baseline",
                                                                "none"), 0,
         ("cost of compliance vs none over 3 periods",), setup=lambda t: [DOLLARS(t), TIMELINE(t)], writes=("o",),
         check=lambda t, out: _margin_in_compliance_line(out, "USD")),
    # multi-period whole racks with build decisions: the MIP's linking rows had -inf coefficients
    # (the fast model's redundant early power rows): CBC could not read the model (internal error)
    # and, once it could, its plan served a few TPP from a site without stock (CBC's 8-digit
    # solution): it was refused; its service is now re-solved on HiGHS with its racks fixed
    Case("breaker-mp-integer-cbc", "periods", ("solve", "{scn}", "--out", "{tmp}/o", "--integer",
                                                "--solver", "cbc"), 0,
         ("integer plan (whole racks) by exact on cbc", "8 significant digits"), absent=("internal error",),
         writes=("o",), check=timeline_plan_passes_check,
         setup=lambda t: [TIMELINE(t), add_column("sites.csv", "fixed_cost_usd", ["100", "200", "300"])(t)]),
    Case("breaker-mp-integer-fixed-cost-ortools", "periods", ("solve", "{scn}", "--out", "{tmp}/o", "--integer",
                                                               "--solver", "ortools"), 0,
         ("integer plan (whole racks) by exact on ortools",), writes=("o",),
         setup=lambda t: [TIMELINE(t), add_column("sites.csv", "fixed_cost_usd", ["100", "200", "300"])(t)]),
    Case("breaker-compare-mp-plans-per-period-unit", "periods", ("compare", "{tmp}/a", "{tmp}/b"), 0,
         ("per period (a -> b; value in usd per year,",), absent=("per year per year",),
         setup=two_dollar_timeline_plans),
]
