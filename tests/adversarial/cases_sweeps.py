"""Sweeps (README "Sweeps"): --objective refused where solve refuses it, multi-period sweeps'
bad parameters and inputs refused before any work (exit 2, nothing written), and compare refusing
a sweep against a plan either way round."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from harness import Case, edit_csv

SWEEP = ("sweep", "{scn}", "--out", "{tmp}/sw")
PERIODS = "period,years\nQ1,0.25\nQ2,0.25\n"


def periods(text: str = PERIODS):
    """A setup that makes the scenario multi-period (periods.csv)."""
    def setup(t: Path) -> None:
        (t / "scn" / "periods.csv").write_text(text)
    return setup


def dollars(t: Path) -> None:
    """Market values in dollars (usd_per_h100e_hour), so that margin has a meaning."""
    edit_csv(t / "scn" / "markets.csv", ",value,", ",usd_per_h100e_hour,")


def every_variant_plan_checks(t: Path, output: str) -> None:
    """Each variant plan of the multi-period sweep is multi-period and records its parameters per period."""
    plans = sorted((t / "sw" / "variants").glob("*/plan"))
    assert len(plans) == 2, output
    for plan in plans:
        summary = json.loads((plan / "summary.json").read_text())
        assert summary["mode"] == "multi-period" and summary["run"]["objective"] == "serve"
        assert all("sweep_parameters" in p["policy"] for p in summary["periods"])


def write_grid(name: str, text: str):
    """A setup that writes a grid file ``name`` beside the scenario."""
    return lambda t: (t / name).write_text(text)


CASES = [
    # --- a parameter given twice would keep one source's values only: refused -----------------------
    Case("sweep-vary-twice", "sweep", (*SWEEP, "--vary", "max_tier2_country_share=0.05", "--vary",
                                       "max_tier2_country_share=0.07"), 2,
         ("max_tier2_country_share is given twice", "give each parameter once")),
    Case("sweep-vary-twice-code-case", "sweep", (*SWEEP, "--vary", "cap.pol=1e8", "--vary", "cap.POL=2e8"), 2,
         ("cap.POL is given twice",)),
    Case("sweep-grid-toml-and-vary", "sweep", (*SWEEP, "--grid", "{tmp}/grid.toml", "--vary",
                                               "max_tier2_country_share=0.07"), 2,
         ("max_tier2_country_share is given twice", "--grid grid.toml"),
         setup=write_grid("grid.toml", "max_tier2_country_share = [0.05, 0.06]\n")),
    Case("sweep-grid-csv-and-vary", "sweep", (*SWEEP, "--grid", "{tmp}/grid.csv", "--vary",
                                              "max_tier2_country_share=0.07"), 2,
         ("max_tier2_country_share is given twice", "--grid grid.csv"),
         setup=write_grid("grid.csv", "max_tier2_country_share\n0.05\n0.06\n")),
    Case("sweep-policies-and-vary-policy", "sweep", (*SWEEP, "--vary", "policy=none", "--policies", "aidr-2025"), 2,
         ("policy is given twice", "--policies")),
    Case("sweep-each-tier2-and-a-tier-move", "sweep", (*SWEEP, "--each-tier2-country-to-tier1", "--vary", "tier.POL=1"),
         2, ("each_tier2_country_to_tier1", "tier.POL is given too")),
    # --- multipliers that leave the ranges fleetopt solves exactly ----------------------------------
    Case("sweep-multiplier-negative", "sweep", (*SWEEP, "--vary", "demand_multiplier=-1"), 2,
         ("demand_multiplier = -1", "a multiplier is a finite number >= 0")),
    Case("sweep-multiplier-too-big", "sweep", (*SWEEP, "--vary", "demand_multiplier=1,1e6"), 2,
         ("demand_multiplier = 1000000.0", "scales demand_tpp out of its range", "us, pl")),
    Case("sweep-multiplier-too-small", "sweep", (*SWEEP, "--vary", "demand_multiplier.POL=1e-7"), 2,
         ("demand_multiplier.POL = 1e-07", "0, or 100 to 1e+13", "pl")),
    Case("sweep-inventory-multiplier-too-big", "sweep", (*SWEEP, "--vary", "inventory_multiplier.H=1e8"), 2,
         ("inventory_multiplier.H", "scales inventory out of its range (0 to 1e+09")),
    Case("sweep-multipliers-multiply", "sweep", (*SWEEP, "--vary", "demand_multiplier=1e-3", "--vary",
                                                 "demand_multiplier.POL=1e-3"), 2,
         ("demand_multiplier = 0.001, demand_multiplier.POL = 0.001", "scales demand_tpp out of its range", "pl")),
    Case("sweep-grid-csv-column-twice", "sweep", (*SWEEP, "--grid", "{tmp}/grid.csv"), 2,
         ("column demand_multiplier given twice",),
         setup=write_grid("grid.csv", "demand_multiplier,demand_multiplier\n1,0.5\n")),
    Case("sweep-cap-none", "sweep", (*SWEEP, "--vary", "cap.POL=none,1e9"), 2,
         ("cap.POL = 'none': must be a number", "leave the cap out")),
    Case("sweep-tier-four", "sweep", (*SWEEP, "--vary", "tier.POL=1,4"), 2, ("tier.POL = 4: a tier is 1, 2 or 3",)),
    Case("sweep-multiplier-word", "sweep", (*SWEEP, "--vary", "demand_multiplier=x"), 2,
         ("demand_multiplier = 'x': must be a number",)),
    Case("sweep-margin-abstract-values", "sweep", (*SWEEP, "--objective", "margin", "--vary", "demand_multiplier=1,2"),
         2, ("--objective margin needs market values in dollars", "usd_per_h100e_hour")),
    Case("sweep-objective-unknown", "sweep", (*SWEEP, "--objective", "profit", "--vary", "demand_multiplier=1"),
         2, ("--objective", "profit")),
    Case("sweep-periods-margin-abstract-values", "sweep",
         (*SWEEP, "--objective", "margin", "--vary", "demand_multiplier=1,2"), 2,
         ("--objective margin needs market values in dollars",), setup=periods()),
    Case("sweep-periods-margin-dollars", "sweep", (*SWEEP, "--objective", "margin", "--vary", "demand_multiplier=1,2"),
         0, ("2 variants: 2 optimal",), setup=lambda t: [dollars(t), periods()(t)], writes=("sw",)),
    Case("sweep-periods-works", "sweep", (*SWEEP, "--vary", "demand_multiplier=1,2"), 0,
         ("2 variants: 2 optimal", "planned over 2 periods (Q1, Q2)"), setup=periods(), writes=("sw",),
         check=every_variant_plan_checks),
    Case("sweep-periods-unknown-sku", "sweep", (*SWEEP, "--vary", "inventory_multiplier.h=2"), 2,
         ("inventory_multiplier.h", "no sku h"), setup=periods()),
    Case("sweep-periods-unknown-country", "sweep", (*SWEEP, "--vary", "demand_multiplier.XXX=2"), 2,
         ("demand_multiplier.XXX", "no market in XXX"), setup=periods()),
    Case("sweep-periods-bad-periods-file", "sweep", (*SWEEP, "--vary", "demand_multiplier=1,2"), 2,
         ("periods.csv", "years"), setup=periods("period,years\nQ1,-1\n")),
    Case("sweep-periods-policy-misspelt", "sweep", (*SWEEP, "--policies", "none,aidr-2052"), 2,
         ("variant policy aidr-2052",), setup=periods()),
    Case("sweep-periods-deliveries-unknown-sku", "sweep", (*SWEEP, "--vary", "demand_multiplier=1,2"), 2,
         ("deliveries.csv", "Z"), setup=lambda t: [periods()(t), (t / "scn" / "deliveries.csv").write_text(
             "sku,period,units\nZ,Q2,5\n")]),
    Case("compare-sweep-with-plan", "sweep", ("compare", "{tmp}/sw", "{plan}"), 2,
         ("a sweep folder", "a plan folder", "two sweeps"), needs_plan=True,
         setup=lambda t: [(t / "sw").mkdir(), (t / "sw" / "results.csv").write_text(
             "variant,status,objective,served_pct,cost_usd\nbase,optimal,1,1,1\n")]),
]

RESULTS = "variant,status,objective,served_pct,cost_usd,binding_limits\n"


def results(rel: str, rows: str, header: str = RESULTS):
    """A setup that writes a hand-made sweep folder (results.csv only) with these rows."""
    def setup(t: Path) -> None:
        (t / rel).mkdir()
        (t / rel / "results.csv").write_text(header + rows)
    return setup


def broken_variant_plan(t: Path) -> None:
    """Both sweeps list variant v with a plan folder; A's placement.csv is not a table."""
    for rel in ("sa", "sb"):
        results(rel, 'v,optimal,2,50,1,"[]"\n')(t)
        (t / rel / "variants" / "v" / "plan").mkdir(parents=True)
        (t / rel / "variants" / "v" / "plan" / "service.csv").write_text("market_id,site_id,tpp\n")
        (t / rel / "variants" / "v" / "plan" / "placement.csv").write_text(
            "site_id,country,sku,installed_units,new_units,units,tpp\n" if rel == "sb" else "\x00\x01")


COMPARE = ("compare", "{tmp}/sa", "{tmp}/sb")

CASES += [
    Case("compare-sweeps-variants-of-one-side-listed", "sweep", COMPARE, 0,
         ("0 in both, 1 only in A, 1 only in B", "only in A (not compared): x (optimal)",
          "only in B (not compared): y (infeasible)"),
         setup=lambda t: [results("sa", 'x,optimal,1,50,1,"[]"\n')(t), results("sb", "y,infeasible,,,,\n")(t)]),
    Case("compare-sweeps-binding-limits-garbage", "sweep", COMPARE, 0,
         ("binding limits: not recorded in A or B",), absent=("added in B",),
         setup=lambda t: [results("sa", 'v,optimal,1,50,1,"[""cap""]"\n')(t), results("sb", "v,optimal,1,50,1,{oops\n")(t)]),
    Case("compare-sweeps-failed-variant-on-one-side", "sweep", COMPARE, 0,
         ("variant v: optimal -> infeasible; B no room", "not recorded"),
         setup=lambda t: [results("sa", 'v,optimal,1,50,1,"[]"\n')(t),
                          results("sb", "v,infeasible,,,,,no room\n", RESULTS.strip() + ",reason\n")(t)]),
    Case("compare-sweeps-variant-plan-unreadable", "sweep", COMPARE, 0,
         ("warning: the plans of 1 variant(s) were not compared (v)", "A's plan"), setup=broken_variant_plan),
    Case("compare-sweeps-out-inside-a", "sweep", (*COMPARE, "--out", "{tmp}/sa/diff.csv"), 2, ("--out",),
         setup=lambda t: [results("sa", 'v,optimal,1,50,1,"[]"\n')(t), results("sb", 'v,optimal,1,50,1,"[]"\n')(t)]),
    Case("compare-sweeps-out", "sweep", (*COMPARE, "--out", "{tmp}/diff.csv"), 0, ("tables written to",),
         writes=("diff.csv",),
         setup=lambda t: [results("sa", 'v,optimal,1,50,1,"[]"\n')(t), results("sb", 'v,optimal,2,60,1,"[""cap""]"\n')(t)],
         check=lambda t, out: _diff_has_variant_row(t)),
]


def _diff_has_variant_row(t: Path) -> None:
    whole = pd.read_csv(t / "diff.csv")
    row = whole.query("table == 'variants'").iloc[0]
    assert row["variant"] == "v" and row["objective_change"] == 1 and row["binding_added"] == "cap"
