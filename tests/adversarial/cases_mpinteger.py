"""Whole racks on multi-period scenarios (``solve --integer`` with periods.csv; README "Multi-period
plans"): the plan works and passes check; the combinations it does not take are exit 2."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from cases_periods import DELIVERIES, PERIODS, files
from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
INTEGER = (*SOLVE, "--integer")
TIMELINE = files(periods=PERIODS, deliveries=DELIVERIES)


def whole_racks_that_check(t: Path, output: str) -> None:
    """The plan adds whole racks (10 units) each period, and check confirms it period by period."""
    from harness import runner

    from cli import app
    placement = pd.read_csv(t / "out" / "placement.csv")
    assert (placement["new_units"] % 10 == 0).all(), placement
    r = runner.invoke(app, ["check", str(t / "scn"), str(t / "out")])
    assert r.exit_code == 0 and "whole_racks" in r.output, r.output


CASES = [
    Case("mpint-exact-ok", "periods", (*INTEGER, "--method", "exact"), 0,
         ("integer plan (whole racks) by exact", "Q1", "Q3"), setup=TIMELINE, writes=("out",),
         check=whole_racks_that_check),
    Case("mpint-round-ok", "periods", (*INTEGER, "--method", "round"), 0,
         ("integer plan (whole racks) by round", "Q2"), setup=TIMELINE, writes=("out",),
         check=whole_racks_that_check),
    Case("mpint-soft", "periods", (*INTEGER, "--soft"), 2, ("--integer with --soft", "LP plans only"),
         setup=TIMELINE),
    Case("mpint-soft-price", "periods", (*INTEGER, "--soft-price", "tier2_cap=5"), 2, ("--integer with --soft",),
         setup=TIMELINE),
    Case("mpint-path-pulp", "periods", (*INTEGER, "--path", "pulp"), 2, ("--integer with --path pulp", "--solver"),
         setup=TIMELINE),
    Case("mpint-path-ortools", "periods", (*INTEGER, "--path", "ortools-glop"), 2,
         ("--integer with --path ortools-glop", "--solver"), setup=TIMELINE),
    Case("mpint-threads", "periods", (*INTEGER, "--threads", "1"), 2, ("--threads", "--integer"), setup=TIMELINE),
    Case("mpint-freeze-through", "periods", (*INTEGER, "--freeze-through", "Q1", "--plan", "{tmp}/nowhere"), 2,
         ("--integer with --freeze-through", "not supported in multi-period mode yet"), setup=TIMELINE),
    Case("mpint-margin", "periods", (*INTEGER, "--objective", "margin"), 2, ("--objective margin", "not supported"),
         setup=TIMELINE),
    Case("mpint-gap-without-integer", "periods", (*SOLVE, "--gap", "0.01"), 2, ("--gap", "add --integer"),
         setup=TIMELINE),
    Case("mpint-gap-out-of-range", "periods", (*INTEGER, "--gap", "1.5"), 2, ("--gap 1.5", "< 1"), setup=TIMELINE),
    Case("mpint-method-unknown", "periods", (*INTEGER, "--method", "guess"), 2, ("--method", "exact"),
         setup=TIMELINE),
]
