"""Solver contract cases: every MIP backend keeps a site's build decision (min_new_mw), and the
enum options list their choices in --help."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from harness import Case

from optimizer import check_plan, load_scenario, read_plan

OUT = ("solve", "{scn}", "--out", "{tmp}/out")


def us_needs_500_units(tmp: Path) -> None:
    """A new build at the U.S. site must be at least 0.5 MW (500 units); only 100 exist."""
    path = tmp / "scn/sites.csv"
    sites = pd.read_csv(path)
    sites["min_new_mw"] = (sites["site_id"] == "US") * 0.5
    sites.to_csv(path, index=False)


def us_left_empty_and_compliant(tmp: Path, output: str) -> None:
    placement, service, _ = read_plan(tmp / "out")
    s = load_scenario(tmp / "scn")
    assert placement.loc[placement["site_id"] == "US", "new_units"].sum() == 0, placement
    assert check_plan(s, placement, service, integer=True).ok


CASES = [
    *(Case(f"integer-{solver}-keeps-min-new-mw", "status", OUT + ("--integer", "--solver", solver), 0,
           ("status: optimal",), setup=us_needs_500_units, writes=("out",),
           check=us_left_empty_and_compliant)
      for solver in ("highs", "ortools", "cbc")),
    *(Case(f"integer-refuses-path-{path}", "options", OUT + ("--integer", "--path", path), 2,
           (f"--path {path} with --integer", "--solver", "leave --path out"))
      for path in ("plain", "pulp")),
    Case("solve-help-lists-enum-choices", "options", ("solve", "--help"), 0,
         ("fast|plain|pulp", "exact|round|auto", "highs|ortools|cbc")),
]
