"""Plans in Parquet and Excel (issue 12): solve --format csv,parquet,xlsx writes the same tables
(read back and compared with the CSV files), the manifest lists every file, and the folder stays
a plan folder under the output-folder rule; check and compare keep reading the CSV files."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import load_scenario, solve, write_plan
from optimizer.errors import InputError
from optimizer.io.planfiles import plan_formats
from optimizer.results.plan import written_table

runner = CliRunner()
EXCEL_DIGITS = 1e-14      # Excel keeps 15 significant digits of a number
IDS = {"site_id": str, "sku": str, "market_id": str, "country": str}


@pytest.fixture
def scn(tmp_path):
    return write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL", 52.0, 21.0)],
                          [chip(inventory=100.0, capex_usd=1000.0), chip("B", tpp=0.5 * M, inventory=30.0)],
                          [market("us", "USA", 50 * M), market("pl", "POL", 30 * M, 52.0, 21.0, in_country_only=True)])


def csv(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=IDS, keep_default_na=False)


def test_parquet_and_excel_hold_the_csv_tables(scn, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(app, ["solve", str(scn), "--out", str(out), "--format", "csv,parquet,xlsx"])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "placement.parquet, plan.xlsx, prices.csv, service.csv, service.parquet" in r.output   # every file written, sorted
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["files"] == sorted(["placement.csv", "service.csv", "summary.json", "placement.parquet",
                                              "service.parquet", "plan.xlsx", "prices.csv", "unserved.csv"])
    for name in ("placement", "service"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), csv(out, name), check_exact=True)
        pd.testing.assert_frame_equal(pd.read_excel(out / "plan.xlsx", sheet_name=name, dtype=IDS), csv(out, name),
                                      check_dtype=False, rtol=EXCEL_DIGITS, atol=0)
    book = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert list(book) == ["summary", "placement", "service", "limits"]
    fields = book["summary"].set_index("field")["value"]
    assert float(fields["objective"]) == pytest.approx(summary["objective"], rel=EXCEL_DIGITS, abs=0)
    assert float(fields["cost.annualised_usd_per_year"]) == pytest.approx(summary["cost"]["annualised_usd_per_year"],
                                                                          rel=EXCEL_DIGITS, abs=0)
    assert fields["economics.value_unit"] == "abstract value units"
    assert fields["binding_limits"] == ", ".join(summary["binding_limits"]) == "tier2_share[POL]"
    assert list(book["limits"]["name"]) == [lim["name"] for lim in summary["limits"]]
    assert runner.invoke(app, ["check", str(scn), str(out)]).exit_code == 0
    assert runner.invoke(app, ["compare", str(out), str(out)]).exit_code == 0


def test_library_parquet_is_the_plans_tables_exactly(scn, tmp_path):
    plan = solve(load_scenario(scn))
    write_plan(plan, tmp_path / "p", formats=["parquet"])
    # the tables as written (rounded to 10 significant digits, as in the CSV files)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p" / "placement.parquet"), written_table(plan.placement),
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p" / "service.parquet"), written_table(plan.service),
                                  check_exact=True)


def test_a_plan_in_other_formats_may_be_written_again(scn, tmp_path):
    out = tmp_path / "plan"
    assert runner.invoke(app, ["solve", str(scn), "--out", str(out), "--format", "xlsx"]).exit_code == 0
    r = runner.invoke(app, ["solve", str(scn), "--out", str(out)])           # csv only this time
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["placement.csv", "prices.csv", "service.csv", "summary.json",
                                                     "unserved.csv"]


def test_an_unlisted_file_of_a_format_name_is_not_fleetopts(scn, tmp_path):
    out = tmp_path / "plan"
    assert runner.invoke(app, ["solve", str(scn), "--out", str(out)]).exit_code == 0
    (out / "plan.xlsx").write_text("my own workbook")
    r = runner.invoke(app, ["solve", str(scn), "--out", str(out), "--format", "xlsx"])
    assert r.exit_code == 2 and "did not write" in r.output
    assert (out / "plan.xlsx").read_text() == "my own workbook"


def test_plan_formats():
    assert plan_formats("xlsx, parquet,xlsx") == ("csv", "xlsx", "parquet")
    assert plan_formats(None) == ("csv",)
    with pytest.raises(InputError, match="--format pdf, json: unknown"):
        plan_formats("csv,pdf,json")
