"""``fleetopt check`` and multi-period plans (issue 11): a plan of one kind checked against a
scenario of the other kind is refused (exit 2), never misread."""
import json
from pathlib import Path

import pandas as pd
from harness import Case

CHECK = ("check", "{scn}", "{plan}")


def with_period_column(tmp: Path) -> None:
    """The solved snapshot plan, dressed as a one-period plan (a period column in both tables)."""
    for name in ("placement.csv", "service.csv"):
        table = pd.read_csv(tmp / "plan" / name)
        table.insert(2, "period", "Q1")
        table.to_csv(tmp / "plan" / name, index=False)


def with_summary_periods(tmp: Path) -> None:
    """summary.json lists periods, the tables have none."""
    path = tmp / "plan/summary.json"
    summary = json.loads(path.read_text())
    summary["periods"] = [{"period": "Q1", "policy": summary["policy"]}]
    path.write_text(json.dumps(summary))


CASES = [
    Case("mp-check-period-plan-vs-snapshot-scenario", "plan-files", CHECK, 2,
         ("multi-period plan", "period column", "no periods.csv"), needs_plan=True, setup=with_period_column),
    Case("mp-check-summary-periods-vs-snapshot-scenario", "plan-files", CHECK, 2,
         ("multi-period plan", "summary.json lists periods", "no periods.csv"), needs_plan=True,
         setup=with_summary_periods),
]
