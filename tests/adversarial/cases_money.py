"""Money and formats (issue 12): markets.csv value vs usd_per_h100e_hour, chips.csv life_years,
economics.toml, --objective margin where it has no meaning (and with --integer and fixed costs,
where it has), and solve --format."""
from __future__ import annotations

from cases_columns import add_column, header, set_market_values
from cases_output import then
from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
MARGIN = (*SOLVE, "--objective", "margin")
DOLLARS = header("markets.csv", ",value,", ",usd_per_h100e_hour,")


def economics(text: str):
    """Write the scenario's economics.toml."""
    return lambda t: (t / "scn" / "economics.toml").write_text(text)


CASES = [
    Case("money-both-value-columns", "columns", SOLVE, 2, ("both value and usd_per_h100e_hour", "give one"),
         setup=add_column("markets.csv", "usd_per_h100e_hour", ["2.0", "2.0"])),
    Case("money-usd-near-miss", "columns", SOLVE, 2, ("usd_per_gpu_hour", "did you mean usd_per_h100e_hour"),
         setup=header("markets.csv", ",value,", ",usd_per_gpu_hour,")),
    Case("money-usd-blank", "columns", SOLVE, 2, ("usd_per_h100e_hour is empty", "pl"),
         setup=then(DOLLARS, set_market_values("1.0", ""))),
    Case("money-usd-negative", "ranges", SOLVE, 2, ("usd_per_h100e_hour must be", "us (-2)"),
         setup=then(DOLLARS, set_market_values("-2", "1.0"))),
    Case("money-usd-ratio", "ranges", SOLVE, 2, ("column usd_per_h100e_hour spans a ratio",),
         setup=then(DOLLARS, set_market_values("900000", "0.1"))),
    Case("money-life-zero", "ranges", SOLVE, 2, ("chips.csv", "life_years must be between 1 and 50", "H (0)"),
         setup=add_column("chips.csv", "life_years", ["0"])),
    Case("money-life-near-miss", "columns", SOLVE, 2, ("did you mean life_years",),
         setup=add_column("chips.csv", "lifetime", ["4"])),
    Case("money-economics-unknown-key", "file-path", SOLVE, 2, ("economics.toml", "unknown key(s) discount"),
         setup=economics("discount = 0.1\n")),
    Case("money-economics-rate-percent", "ranges", SOLVE, 2, ("economics.toml", "discount_rate = 8",
                                                              "0.08 is 8 %"),
         setup=economics("discount_rate = 8\n")),
    Case("money-economics-not-toml", "file-path", ("validate", "{scn}"), 2, ("economics.toml", "not valid"),
         setup=economics("discount_rate: 0.08\n")),
    Case("money-economics-folder", "file-path", SOLVE, 2, ("economics.toml", "not a regular file"),
         setup=lambda t: (t / "scn" / "economics.toml").mkdir()),
    Case("money-margin-abstract-values", "options", MARGIN, 2,
         ("--objective margin needs market values in dollars", "usd_per_h100e_hour")),
    Case("money-objective-unknown", "options", (*SOLVE, "--objective", "profit"), 2, ("profit", "serve", "margin")),
    Case("money-margin-integer-fixed-cost", "options", (*MARGIN, "--integer"), 0,
         ("objective margin", "integer plan", "margin $"), writes=("out",),
         setup=then(DOLLARS, add_column("sites.csv", "fixed_cost_usd", ["5", "0", "0"]))),
    Case("money-fixed-cost-life-zero", "ranges", (*MARGIN, "--integer"), 2,
         ("economics.toml", "fixed_cost_life_years = 0", "> 0"),
         setup=then(DOLLARS, economics("fixed_cost_life_years = 0\n"))),
    Case("money-margin-dollars-ok", "options", MARGIN, 0,
         ("objective margin", "USD per year", "margin $", "capex $"), setup=DOLLARS, writes=("out",)),
    Case("money-serve-abstract-says-so", "options", SOLVE, 0, ("abstract value units",), writes=("out",)),
    Case("format-unknown", "options", (*SOLVE, "--format", "csv,json"), 2, ("--format json: unknown", "parquet")),
    Case("format-empty-is-csv", "options", (*SOLVE, "--format", ""), 0, ("placement.csv",), writes=("out",),
         absent=("parquet", "xlsx")),
    Case("format-over-a-users-workbook", "output-folder", ("solve", "{scn}", "--out", "{plan}", "--format", "xlsx"), 2,
         ("did not write", "plan.xlsx"), needs_plan=True, setup=lambda t: (t / "plan" / "plan.xlsx").write_text("mine")),
    Case("format-plan-rewritten", "output-folder", ("solve", "{scn}", "--out", "{plan}", "--format", "parquet"), 0,
         ("placement.parquet",), needs_plan=True, writes=("plan",)),
]
