"""``fleetopt report SCENARIO PLAN_DIR [--out FILE]``: a plan from another scenario, missing or
broken plan files and an output path over an input, inside the plan or onto a folder are exit 2
and write nothing; the default output (PLAN_DIR.html beside the folder) replaces only a report
fleetopt wrote."""
from pathlib import Path

from cases_output import summary_edit, swept
from harness import Case, edit_csv

REPORT = ("report", "{scn}", "{plan}")


def other_site(tmp: Path) -> None:
    edit_csv(tmp / "plan" / "placement.csv", "US,", "ELSEWHERE,")


def edited_scenario(tmp: Path) -> None:
    edit_csv(tmp / "scn" / "markets.csv", "us,USA,", "us,USA, ")


def no_placement(tmp: Path) -> None:
    (tmp / "plan" / "placement.csv").unlink()


def foreign_html(tmp: Path) -> None:
    (tmp / "plan.html").write_text("<html>my own page</html>\n")


def old_report(tmp: Path) -> None:
    (tmp / "plan.html").write_text('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                                   '<meta name="generator" content="fleetopt report">old</head></html>\n')


def hand_made(tmp: Path) -> None:
    (tmp / "plan" / "summary.json").unlink()


def served_edited(tmp: Path) -> None:
    path = tmp / "plan" / "service.csv"
    lines = path.read_text().splitlines()
    market, site, tpp, *rest = lines[1].split(",")
    lines[1] = ",".join([market, site, str(float(tpp) / 2), *rest])
    path.write_text("\n".join(lines) + "\n")


def stale_page(tmp: Path, output: str) -> None:
    text = (tmp / "plan.html").read_text()
    assert "Warning: summary.json records served TPP" in text and "edited after the solve" in text


def with_periods(tmp: Path) -> None:
    for name in ("placement.csv", "service.csv"):
        path = tmp / "plan" / name
        lines = path.read_text().splitlines()
        path.write_text("\n".join([lines[0] + ",period", *(line + ",2025" for line in lines[1:])]) + "\n")


def explain_a_list(tmp: Path) -> None:
    summary_edit(tmp / "plan", lambda d: d.update(explain=[1, 2]))


def baseline_half(tmp: Path) -> None:
    summary_edit(tmp / "plan", lambda d: d.update(baseline={"baseline_policy": "none", "value_change": "lots"},
                                                  soft={"penalty": 0, "violations": [{"limit": "x", "violation_tpp": None,
                                                                                      "cost": 1}]}))


def written(name: str):
    def check(tmp: Path, output: str) -> None:
        text = (tmp / name).read_text()
        assert 'id="chart-map"' in text and "<svg" in text, text[:200]
    return check


CASES = [
    Case("report-writes-beside-the-plan", "file-path", REPORT, 0, ("report written to", "plan.html"),
         needs_plan=True, writes=("plan.html",), check=written("plan.html")),
    Case("report-out-named", "file-path", (*REPORT, "--out", "{tmp}/r.html"), 0, ("r.html",),
         needs_plan=True, writes=("r.html",), check=written("r.html")),
    Case("report-replaces-its-own-report", "file-path", REPORT, 0, ("report written",), setup=old_report,
         needs_plan=True, writes=("plan.html",), check=written("plan.html")),
    Case("report-default-over-a-foreign-file", "file-path", REPORT, 2, ("not a report fleetopt wrote", "--out"),
         setup=foreign_html, needs_plan=True),
    Case("report-out-is-a-folder", "file-path", (*REPORT, "--out", "{tmp}/scn"), 2, ("is a folder",),
         needs_plan=True),
    Case("report-out-over-an-input", "file-path", (*REPORT, "--out", "{scn}/sites.csv"), 2,
         ("would overwrite",), needs_plan=True),
    Case("report-out-inside-the-plan", "file-path", (*REPORT, "--out", "{plan}/report.html"), 2,
         ("would overwrite", "plan"), needs_plan=True),
    Case("report-out-over-a-preset", "file-path", (*REPORT, "--out", "{data}/policies/aidr-2025.toml"), 2,
         ("would overwrite",), needs_plan=True),
    Case("report-plan-from-another-scenario-ids", "plan-files", REPORT, 2,
         ("placement.csv", "site_id", "ELSEWHERE", "another scenario"), setup=other_site, needs_plan=True),
    Case("report-plan-from-edited-scenario", "plan-files", REPORT, 2,
         ("summary.json", "markets.csv changed", "planned on"), setup=edited_scenario, needs_plan=True),
    Case("report-placement-missing", "plan-files", REPORT, 2, ("placement.csv", "file missing"),
         setup=no_placement, needs_plan=True),
    Case("report-plan-folder-missing", "plan-files", ("report", "{scn}", "{tmp}/nothing"), 2, ("not found",)),
    Case("report-arguments-swapped", "plan-files", ("report", "{plan}", "{scn}"), 2,
         ("look swapped", "fleetopt report SCENARIO PLAN_DIR"), needs_plan=True),
    Case("report-summary-explain-not-an-object", "plan-files", REPORT, 2,
         ("summary.json", "'explain' must be a JSON object, found array", "remove summary.json"),
         setup=explain_a_list, needs_plan=True),
    Case("report-summary-blocks-malformed", "plan-files", REPORT, 2,
         ("'baseline.value_change' must be a JSON number, found string", "lacks 'value_change_pct'",
          "'soft.violations[0].violation_tpp' must be a JSON number, found null"),
         setup=baseline_half, needs_plan=True),
    Case("report-of-a-sweep-folder", "plan-files", ("report", "{scn}", "{tmp}/sw"), 2,
         ("is a sweep folder", "variants/", "/plan"), setup=swept),
    Case("report-tables-edited-after-the-solve", "plan-files", REPORT, 0,
         ("warning: summary.json records served TPP", "edited after the solve", "report written"),
         setup=served_edited, needs_plan=True, writes=("plan.html",), check=stale_page),
    Case("report-plan-with-periods", "plan-files", REPORT, 2, ("has periods", "periods.csv"),
         setup=with_periods, needs_plan=True),
    Case("report-hand-made-plan", "plan-files", REPORT, 0, ("report written",), setup=hand_made, needs_plan=True,
         writes=("plan.html",), check=written("plan.html")),
]
