"""Solver statuses and exit codes (kind "status"), and soft-price options (kind "options").

Vocabulary: optimal / feasible (exit 0, printed with its gap); infeasible (3, the limit named);
unbounded, infeasible_or_unbounded, no_plan, error (4)."""
from __future__ import annotations

import json
from pathlib import Path

from harness import Case

from optimizer.bench.generate import generate_fleet
from optimizer.solvers.result import LEXICOGRAPHIC_REL_TOL

OUT = ("solve", "{scn}", "--out", "{tmp}/out")


def polish_installed(tmp: Path, units: int = 20) -> None:
    """20 installed units in Poland: more than 7 % of any fleet the inventory can build."""
    path = tmp / "scn/installed.csv"
    path.write_text(path.read_text() + f"PL,H,{units}\n")


def big_fleet(tmp: Path) -> None:
    """A fleet whose MIP no solver closes, or even finds a plan for, in a millisecond."""
    generate_fleet(tmp / "big", sites=600, skus=6, seed=5)


def round_status_is_honest(tmp: Path, output: str) -> None:
    """A round plan is optimal only within its gap target; otherwise feasible, printed as such."""
    summary = json.loads((tmp / "out/summary.json").read_text())
    info = summary["integer"]
    assert summary["status"] in ("optimal", "feasible")
    assert (summary["status"] == "feasible") == (info["gap"] > info["gap_target"] + LEXICOGRAPHIC_REL_TOL), info
    if summary["status"] == "feasible":
        assert "status feasible" in output and "gap" in output


def soft_violation_recorded(tmp: Path, output: str) -> None:
    summary = json.loads((tmp / "out/summary.json").read_text())
    assert summary["mode"] == "lp-soft" and summary["soft"]["violations"], summary["soft"]


def sweep_counts_line(tmp: Path, output: str) -> None:
    rows = (tmp / "sw/results.csv").read_text()
    assert "infeasible" in rows and "optimal" in rows


INFEASIBLE_WORDS = ("error:", "infeasible", "tier-2 country share limit", "POL")

CASES = [
    # infeasible scenarios: exit 3 naming the limit, on every path that can say it
    Case("status-infeasible-solve", "status", OUT, 3, INFEASIBLE_WORDS, setup=polish_installed),
    Case("status-infeasible-explain", "status", ("explain", "{scn}"), 3, INFEASIBLE_WORDS, setup=polish_installed),
    Case("status-infeasible-plain", "status", OUT + ("--path", "plain"), 3, INFEASIBLE_WORDS,
         setup=polish_installed),
    Case("status-infeasible-pulp", "status", OUT + ("--path", "pulp"), 3, INFEASIBLE_WORDS,
         setup=polish_installed),
    # OR-Tools answers INFEASIBLE also for infeasible-or-unbounded: resolved, then diagnosed
    Case("status-infeasible-ortools-glop", "status", OUT + ("--path", "ortools-glop"), 3, INFEASIBLE_WORDS,
         setup=polish_installed),
    Case("status-infeasible-integer", "status", OUT + ("--integer",), 3, INFEASIBLE_WORDS,
         setup=polish_installed),
    Case("status-infeasible-integer-ortools", "status", OUT + ("--integer", "--solver", "ortools"), 3,
         INFEASIBLE_WORDS, setup=polish_installed),
    Case("status-infeasible-integer-cbc", "status", OUT + ("--integer", "--solver", "cbc"), 3,
         INFEASIBLE_WORDS, setup=polish_installed),
    Case("status-infeasible-cap", "status", OUT + ("--policy", "{tmp}/cap.toml"), 3,
         ("infeasible", "cap", "POL"),
         setup=lambda t: (polish_installed(t, 5), (t / "cap.toml").write_text(
             "name = 'tight-cap'\ntier2_country_cap_tpp = 1_000_000\n"))),
    # a limit reached before any plan: exit 4 with the words "no plan"
    Case("status-no-plan-highs", "status", ("solve", "{tmp}/big", "--out", "{tmp}/out", "--integer",
                                            "--method", "exact", "--time-limit", "0.001"), 4,
         ("error:", "no plan", "time limit"), setup=big_fleet),
    Case("status-no-plan-cbc", "status", ("solve", "{tmp}/big", "--out", "{tmp}/out", "--integer",
                                          "--method", "exact", "--solver", "cbc", "--time-limit", "0.001"), 4,
         ("error:", "no plan", "time limit"), setup=big_fleet),
    # the round method: optimal only within the gap target, else feasible with its gap printed
    Case("status-round-tight-gap", "status", OUT + ("--integer", "--method", "round", "--gap", "1e-12"), 0,
         ("status: feasible", "status feasible", "gap", "round method's neighbourhood"), writes=("out",),
         check=round_status_is_honest),
    Case("status-round-tiny-time-limit", "status", OUT + ("--integer", "--method", "round", "--time-limit",
                                                          "0.001"), 0,
         ("status:", "note: --time-limit 0.001 s", "repair MIP at least 1 s"), writes=("out",),
         check=round_status_is_honest),
    Case("status-explain-prices-have-ranges", "status", ("explain", "{scn}"), 0, ("holds from", "range shown")),
    Case("status-sweep-counts", "sweep", ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary",
                                          "max_tier2_country_share=0.07,0.9"), 0,
         ("1 optimal, 0 feasible (limit reached), 1 infeasible, 0 failed",), setup=polish_installed,
         writes=("sw",), check=sweep_counts_line),
    # --soft and --soft-price: junk, negative, NaN, infinite, unknown family, wrong paths
    Case("soft-price-junk", "options", OUT + ("--soft-price", "tier2_cap=abc"), 2,
         ("error:", "--soft-price", "FAMILY=PRICE")),
    Case("soft-price-no-equals", "options", OUT + ("--soft-price", "20"), 2, ("error:", "FAMILY=PRICE")),
    Case("soft-price-family-twice", "options", OUT + ("--soft-price", "tier2_cap=20", "--soft-price", "tier2_cap=30"),
         2, ("error:", "--soft-price tier2_cap is given twice")),
    Case("soft-price-negative", "options", OUT + ("--soft-price", "tier2_cap=-1"), 2,
         ("error:", "finite numbers >= 0", "tier2_cap")),
    Case("soft-price-nan", "options", OUT + ("--soft-price", "home_share=nan"), 2,
         ("error:", "finite numbers >= 0", "home_share")),
    Case("soft-price-inf", "options", OUT + ("--soft-price", "tier2_share=inf"), 2,
         ("error:", "finite numbers >= 0", "tier2_share")),
    Case("soft-price-unknown-family", "options", OUT + ("--soft-price", "tier9=1"), 2,
         ("error:", "unknown limit family", "tier9", "tier2_cap")),
    Case("soft-with-pulp", "options", OUT + ("--soft", "--path", "pulp"), 2,
         ("error:", "--soft works with the fast and plain")),
    Case("soft-with-integer", "options", OUT + ("--soft", "--integer"), 2,
         ("error:", "--soft works with the fast and plain")),
    Case("soft-plan-for-infeasible", "options", OUT + ("--soft",), 0,
         ("soft limit violated: tier2_share[POL]",), setup=polish_installed, writes=("out",),
         check=soft_violation_recorded),
    Case("integer-unknown-method", "options", OUT + ("--integer", "--method", "guess"), 2,
         ("invalid value for '--method'", "'guess' is not one of")),
    Case("integer-unknown-solver", "options", OUT + ("--integer", "--solver", "gurobi"), 2,
         ("invalid value for '--solver'", "'gurobi' is not one of")),
]
