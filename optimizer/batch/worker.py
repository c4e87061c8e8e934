"""The sweep's worker: solves a chunk of variants in one process, one warm HiGHS model per
structure, writing each variant's plan and result.json atomically (see optimizer.batch.sweep).
On a multi-period scenario (periods.csv) each variant is a multi-period plan
(:func:`optimizer.planner.periods.solve_timeline`), its parameters applied to every period."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

from optimizer.batch.variants import Variant, apply_timeline_variant, apply_variant, result_path
from optimizer.errors import FleetoptError
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.timeline import Timeline, has_periods, load_timeline
from optimizer.inputs.validation import load_scenario
from optimizer.io.manifest import policy_fingerprint
from optimizer.io.planfiles import write_plan
from optimizer.model.data import Objective
from optimizer.outdir import write_json_atomic
from optimizer.planner.periods import solve_timeline
from optimizer.planner.solve import solve
from optimizer.policy.rules import Family
from optimizer.results.plan import Plan
from optimizer.solvers.highs import WarmStart


def load_base(scenario_dir: str | Path, policy: str | None) -> Scenario | Timeline:
    """What a sweep varies: the scenario, or on a folder with periods.csv its timeline."""
    return load_timeline(scenario_dir, policy) if has_periods(scenario_dir) else load_scenario(scenario_dir, policy)


class ChunkSolver:
    """Solves variants of one scenario (or timeline) under the objective that the run manifest
    ``run`` records (its ``objective``; ``serve`` when absent), writing each plan with ``run``."""

    def __init__(self, scenario_dir: str, policy: str | None, out_dir: Path, run: dict):
        self.base = load_base(scenario_dir, policy)
        self.out_dir = out_dir
        self.run_manifest = run      # recorded in each variant's plan, with the variant's parameters
        self.objective = Objective(run.get("objective", Objective.SERVE.value))
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
        row = {"variant": v.id, "params": v.params, "objective_kind": self.objective.value}
        warm_before = self.warm.warm_solves
        try:
            plan, policies = self._solve(v.params)
            write_plan(plan, self.out_dir / "variants" / v.id / "plan", {**self.run_manifest, "variant": v.params,
                                                                         **policies})
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

    def _solve(self, params: dict[str, Any]) -> tuple[Plan, dict[str, Any]]:
        """The variant's plan and the policy fingerprints its manifest records (a multi-period
        plan's: the first period's as ``policy``, and every period's)."""
        if not isinstance(self.base, Timeline):
            plan = solve(apply_variant(self.base, params), warm=self.warm, objective=self.objective)
            return plan, {"policy": policy_fingerprint(plan.scenario.policy)}
        plan = solve_timeline(apply_timeline_variant(self.base, params), objective=self.objective)
        return plan, {"policy": policy_fingerprint(plan.timeline.first.policy),
                      "period_policies": {p.id: policy_fingerprint(p.scenario.policy) for p in plan.timeline.periods}}


def summary_row(summary: Mapping[str, Any]) -> dict:
    """The numbers a sweep table shows for one variant (plain values: the plan's summary is read-only).
    A multi-period plan's totals are over the horizon (shares: the last period's, as its summary
    gives them; see :func:`_horizon_columns`)."""
    prices = (summary.get("explain") or {}).get("policy_prices", [])
    row = {
        "status": summary["status"], "objective": summary["objective"], "served_pct": summary["served_pct"],
        "cost_usd": summary["cost"]["total_usd"],
        **{f.value: summary[f.value] for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
        **{k: (summary.get("economics") or {}).get(k) for k in ("margin_usd_per_year", "value_unit")},
        "binding_limits": list(summary["binding_limits"]),
        "policy_prices": {p["limit"]: p["value_per_unit"] for p in prices},
        "solve_seconds": summary["timings"].get("solve"),
    }
    return row | (_horizon_columns(summary) if "periods" in summary else {})


def _horizon_columns(summary: Mapping[str, Any]) -> dict:
    """A multi-period plan's own columns: the number of periods, the discounted cost, the margin
    over the horizon (USD, discounted; dollar values only), and for served %, home and Tier-1
    share the lowest over the periods and the (first) period of it."""
    periods = summary["periods"]
    out: dict[str, Any] = {"periods": len(periods), "discounted_cost_usd": summary["cost"]["discounted_usd"],
                           "margin_usd": (summary.get("economics") or {}).get("margin_usd")}
    for key in ("served_pct", Family.HOME_SHARE.value, Family.TIER1_SHARE.value):
        worst = min(periods, key=lambda p: p[key])
        out[f"min_{key}"], out[f"min_{key}_period"] = worst[key], worst["period"]
    return out
