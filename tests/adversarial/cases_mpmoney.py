"""Money over time in multi-period scenarios (issues 11 and 12): the periods' discount from
periods.csv or economics.toml discount_rate, and --objective margin over periods."""
from __future__ import annotations

import json
from pathlib import Path

from cases_money import DOLLARS, economics
from cases_output import then
from cases_periods import files
from harness import Case

VALIDATE = ("validate", "{scn}")
SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
PERIODS = "period,years\nQ1,0.25\nQ2,0.5\nQ3,1\n"
RATE = economics("discount_rate = 0.08\n")
MARGIN = (*SOLVE, "--objective", "margin")


def summary_discounts(expected: list[float]):
    """A check: summary.json records each period's discount (to 4 digits)."""
    def check(t: Path, output: str) -> None:
        periods = json.loads((t / "out" / "summary.json").read_text())["periods"]
        assert [round(p["discount"], 4) for p in periods] == expected, periods
    return check


CASES = [
    Case("mpmoney-discount-derived", "periods", SOLVE, 0,
         ("note: periods.csv has no discount column", "economics.toml discount_rate = 0.08", "Q2 (0.9809)",
          "Q3 (0.9439)"), setup=then(RATE, files(periods=PERIODS)), writes=("out",),
         check=summary_discounts([1.0, 0.9809, 0.9439])),
    Case("mpmoney-discount-shown-by-validate", "periods", VALIDATE, 0, ("discount", "0.9809"),
         setup=then(RATE, files(periods=PERIODS))),
    Case("mpmoney-periods-discount-wins", "periods", SOLVE, 0,
         ("periods.csv column discount discounts the periods", "periods.csv wins"),
         setup=then(RATE, files(periods="period,years,discount\nQ1,0.25,1\nQ2,0.25,0.5\n")), writes=("out",),
         check=summary_discounts([1.0, 0.5])),
    Case("mpmoney-no-economics-discount-one", "periods", SOLVE, 0, ("served",), absent=("derived",),
         setup=files(periods=PERIODS), writes=("out",), check=summary_discounts([1.0, 1.0, 1.0])),
    Case("mpmoney-economics-without-rate", "periods", SOLVE, 0, ("served",), absent=("derived",),
         setup=then(economics(""), files(periods=PERIODS)), writes=("out",), check=summary_discounts([1.0, 1.0, 1.0])),
    Case("mpmoney-discount-partly-blank", "periods", VALIDATE, 2,
         ("periods.csv", "column discount is empty in periods Q2", "discount_rate = 0.08", "leave the column out"),
         setup=then(RATE, files(periods="period,years,discount\nQ1,0.25,1\nQ2,0.25,\n"))),
    Case("mpmoney-derived-discount-too-small", "periods", SOLVE, 2,
         ("periods.csv", "derived from economics.toml discount_rate = 1", "below 0.001", "Q3"),
         setup=then(economics("discount_rate = 1.0\n"), files(periods="period,years\nQ1,10\nQ2,10\nQ3,1\n"))),
    Case("mpmoney-bad-rate-in-periods", "periods", VALIDATE, 2, ("economics.toml", "discount_rate = -0.1"),
         setup=then(economics("discount_rate = -0.1\n"), files(periods=PERIODS))),
    Case("mpmoney-margin-abstract-values", "periods", MARGIN, 2,
         ("--objective margin needs market values in dollars", "usd_per_h100e_hour"), setup=files(periods=PERIODS)),
    Case("mpmoney-explain-margin-abstract-values", "periods", ("explain", "{scn}", "--objective", "margin"), 2,
         ("--objective margin needs market values in dollars",), setup=files(periods=PERIODS)),
    Case("mpmoney-margin-dollars", "periods", MARGIN, 0,
         ("objective margin", "revenue $", "margin $", "over the horizon", "derived"),
         setup=then(DOLLARS, RATE, files(periods=PERIODS)), writes=("out",)),
    Case("mpmoney-margin-dollars-pulp", "periods", (*MARGIN, "--path", "pulp"), 0, ("objective margin", "margin $"),
         setup=then(DOLLARS, files(periods=PERIODS)), writes=("out",)),
]
