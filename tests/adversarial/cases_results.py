"""A solve's plan arrives finished (issue 10, "Results built once"): --baseline is resolved before
the solve and its block is in the summary as built; a bad baseline policy writes nothing and
leaves an older plan as it was."""
import json
from pathlib import Path

from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")


def baseline_in_summary(tmp: Path, output: str) -> None:
    """summary.json carries the baseline block and every timing, load and write included."""
    summary = json.loads((tmp / "out/summary.json").read_text())
    assert summary["baseline"]["baseline_policy"] == "none", summary.get("baseline")
    assert set(summary["timings"]) == {"load", "validate", "build", "solve", "extract", "write"}


CASES = [
    Case("baseline-unknown-preset", "policy", (*SOLVE, "--baseline", "nosuch"), 2,
         ("--baseline nosuch", "unknown preset", "aidr-2025")),
    Case("baseline-missing-toml", "policy", (*SOLVE, "--baseline", "{tmp}/nowhere.toml"), 2,
         ("--baseline", "nowhere.toml")),
    Case("baseline-unknown-over-a-plan", "policy",
         ("solve", "{scn}", "--out", "{plan}", "--baseline", "nosuch"), 2, ("unknown preset",), needs_plan=True),
    Case("baseline-none-in-summary", "output-folder", (*SOLVE, "--baseline", "none"), 0,
         ("cost of compliance vs none",), writes=("out",), check=baseline_in_summary),
]
