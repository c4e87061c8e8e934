"""The sweep's worker: solves a chunk of variants in one process, one warm HiGHS model per
structure, writing each variant's plan and result.json atomically (see optimizer.batch.sweep)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

from optimizer.batch.variants import Variant, apply_variant, result_path
from optimizer.errors import FleetoptError
from optimizer.inputs.validation import load_scenario
from optimizer.io.manifest import policy_fingerprint
from optimizer.io.planfiles import write_plan
from optimizer.outdir import write_json_atomic
from optimizer.planner.solve import solve
from optimizer.policy.rules import Family
from optimizer.solvers.highs import WarmStart


class ChunkSolver:
    def __init__(self, scenario_dir: str, policy: str | None, out_dir: Path, run: dict):
        self.base = load_scenario(scenario_dir, policy)
        self.out_dir = out_dir
        self.run_manifest = run      # recorded in each variant's plan, with the variant's parameters
        self.warm = WarmStart()

    def rows(self, variants: list[Variant]):
        """Solve the variants in order, yielding each result row as soon as it is written."""
        for v in variants:
            if result_path(self.out_dir, v.id).is_file():   # solved by an earlier, interrupted run
                continue
            yield self.solve_one(v)

    def run(self, variants: list[Variant]) -> list[dict]:
        return list(self.rows(variants))

    def solve_one(self, v: Variant) -> dict:
        t0 = time.perf_counter()
        row = {"variant": v.id, "params": v.params}
        warm_before = self.warm.warm_solves
        try:
            plan = solve(apply_variant(self.base, v.params), warm=self.warm)
            run = {**self.run_manifest, "variant": v.params, "policy": policy_fingerprint(plan.scenario.policy)}
            write_plan(plan, self.out_dir / "variants" / v.id / "plan", run)
            row.update(summary_row(plan.summary))
        except FleetoptError as exc:
            status = "infeasible" if exc.exit_code == 3 else getattr(exc, "status", "failed")
            row.update({"status": status, "reason": str(exc).splitlines()[0][:300]})
        except Exception as exc:  # one bad variant must not stop the sweep
            row.update({"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300]})
        row["warm_start"] = self.warm.warm_solves > warm_before
        row["seconds"] = time.perf_counter() - t0
        write_json_atomic(result_path(self.out_dir, v.id), row)
        return row


def summary_row(summary: Mapping[str, Any]) -> dict:
    """The numbers a sweep table shows for one variant (plain values: the plan's summary is read-only)."""
    prices = (summary.get("explain") or {}).get("policy_prices", [])
    return {
        "status": summary["status"], "objective": summary["objective"], "served_pct": summary["served_pct"],
        "cost_usd": summary["cost"]["total_usd"],
        **{f.value: summary[f.value] for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
        "binding_limits": list(summary["binding_limits"]),
        "policy_prices": {p["limit"]: p["value_per_unit"] for p in prices},
        "solve_seconds": summary["timings"].get("solve"),
    }
