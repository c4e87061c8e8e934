"""What a careless capacity planner tried on this session's multi-period and money features, and
the bugs it found (each case failed before its fix)."""
from __future__ import annotations

from pathlib import Path

from cases_periods import DELIVERIES, PERIODS, files
from harness import Case

TIMELINE = files(periods=PERIODS, deliveries=DELIVERIES)


def timeline_plan(t: Path) -> None:
    """A multi-period scenario and a plan of it at ``old/`` (the plan re-planning keeps)."""
    from harness import runner

    from cli import app
    TIMELINE(t)
    r = runner.invoke(app, ["solve", str(t / "scn"), "--out", str(t / "old")])
    assert r.exit_code == 0, r.output


REPLAN = ("solve", "{scn}", "--freeze-through", "Q1", "--plan", "{tmp}/old", "--out")

CASES = [
    # re-planning into the folder of the plan it keeps would replace that plan (the history)
    Case("breaker-replan-out-is-plan", "output-folder", (*REPLAN, "{tmp}/old"), 2,
         ("--out", "--plan", "old"), setup=timeline_plan),
    Case("breaker-replan-out-inside-plan", "output-folder", (*REPLAN, "{tmp}/old/new"), 2,
         ("--out", "--plan"), setup=timeline_plan),
    Case("breaker-replan-out-new-ok", "output-folder", (*REPLAN, "{tmp}/new"), 0,
         ("stock kept from the earlier plan through Q1",), setup=timeline_plan, writes=("new",)),
]
