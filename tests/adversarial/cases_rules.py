"""[groups] cases (issue 10): malformed groups are exit 2 with every problem named and nothing
written; a recorded group is audited by `check` from summary.json."""
from __future__ import annotations

import json
from pathlib import Path

from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
CHECK = ("check", "{scn}", "{plan}")


def policy(text: str):
    """Setup: write the scenario's policy.toml."""
    return lambda t: (t / "scn/policy.toml").write_text(text)


def group_everywhere_but_us(t: Path) -> None:
    """Setup: the plan's recorded policy gains a group the plan cannot meet (nothing in POL
    beyond what it placed there, a 90 % minimum)."""
    summary = t / "plan/summary.json"
    record = json.loads(summary.read_text())
    record["policy"]["groups"] = {"PL": {"countries": ["POL"], "min_share": 0.9}}
    summary.write_text(json.dumps(record))


CASES = [
    Case("group-share-above-one", "policy", SOLVE, 2, ("[groups.EU]", "min_share = 1.5", "[0, 1]"),
         setup=policy('[groups.EU]\ncountries = ["DEU"]\nmin_share = 1.5\n')),
    Case("group-empty", "policy", SOLVE, 2, ("[groups.EU]", "non-empty list"),
         setup=policy('[groups.EU]\ncountries = []\nmin_share = 0.2\n')),
    Case("group-unknown-code", "policy", SOLVE, 2, ("[groups]", "unknown country code(s) XYZ"),
         setup=policy('[groups.EU]\ncountries = ["DEU", "XYZ"]\nmin_share = 0.2\n')),
    Case("group-territory", "policy", SOLVE, 2, ("[groups.US]", "PRI (write USA)"),
         setup=policy('[groups.US]\ncountries = ["PRI"]\nmin_share = 0.2\n')),
    Case("group-every-problem-at-once", "policy", SOLVE, 2,
         ("a group name is letters", "unknown key(s) share", "min_share is missing", "more than once"),
         setup=policy('[groups."E U"]\ncountries = ["DEU", "deu"]\nshare = 0.2\n')),
    Case("group-not-a-table", "policy", SOLVE, 2, ("[groups] must hold one table per group",),
         setup=policy('groups = 3\n')),
    Case("check-audits-a-recorded-group", "policy", CHECK, 1, ("group_share", "PL"),
         setup=group_everywhere_but_us, needs_plan=True, writes=("plan/summary.json",)),
]
