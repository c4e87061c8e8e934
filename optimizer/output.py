"""Plan files: placement.csv, service.csv and summary.json, written atomically.

The plan is first written into a hidden temporary folder beside DIR, then moved into place, so
a failed or interrupted run never leaves a half-written DIR (an older DIR stays until the new
one is complete). DIR must pass the output-folder rule (:mod:`optimizer.outdir`) and is locked
while it is written; summary.json carries the run manifest (:mod:`optimizer.manifest`).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .manifest import build_manifest
from .outdir import atomic_dir, check_out_dir, out_lock
from .plan import Plan


def write_plan(plan: Plan, out: str | Path, run: dict[str, Any] | None = None) -> Path:
    """Write the plan's three files into ``out`` atomically; returns the folder.

    ``run`` is the manifest recorded as summary.json ``run`` (built here from the plan's
    scenario when not given). summary.json ``timings.write`` is the time taken to write the two
    tables. ``out`` must be new, empty or a plan folder fleetopt wrote (InputError otherwise).
    """
    scenario = plan.scenario.path
    target = check_out_dir(out, "plan", scenario)
    if run is None:
        run = build_manifest("plan", scenario, plan.scenario.policy, {})
    with out_lock(target):
        check_out_dir(out, "plan", scenario)     # again, under the lock
        with atomic_dir(target) as tmp:
            t0 = time.perf_counter()
            plan.placement.to_csv(tmp / "placement.csv", index=False)
            plan.service.to_csv(tmp / "service.csv", index=False)
            plan.summary.setdefault("timings", {})["write"] = time.perf_counter() - t0
            plan.summary["run"] = run
            (tmp / "summary.json").write_text(json.dumps(_jsonable(plan.summary), indent=2) + "\n")
    return Path(out)


def read_plan(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read placement.csv, service.csv and (if present) summary.json from a plan folder."""
    folder = Path(folder)
    problems = []
    need = {"placement.csv": ["site_id", "sku", "installed_units", "new_units", "units"],
            "service.csv": ["market_id", "site_id", "tpp"]}
    tables = {}
    for name, cols in need.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: file missing; a plan folder holds {', '.join(need)}")
            continue
        table = pd.read_csv(path, dtype={"site_id": str, "sku": str, "market_id": str},
                            keep_default_na=False)
        missing = [c for c in cols if c not in table.columns]
        if missing:
            problems.append(f"{path}: missing column(s) {', '.join(missing)}")
        for c in set(cols) & set(table.columns) - {"site_id", "sku", "market_id"}:
            table[c] = pd.to_numeric(table[c], errors="coerce")
        tables[name] = table
    if problems:
        raise InputError(problems)
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return tables["placement.csv"], tables["service.csv"], summary


def _jsonable(obj: Any) -> Any:
    """numpy scalars to Python, NaN/inf to None (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
