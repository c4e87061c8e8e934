"""Plan files: placement.csv, service.csv and summary.json, written atomically.

The plan is first written into a hidden temporary folder beside DIR, then moved into place, so
a failed or interrupted run never leaves a half-written DIR (an older DIR stays until the new
one is complete).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .plan import Plan

PLAN_FILES = ("placement.csv", "service.csv", "summary.json")


def write_plan(plan: Plan, out: str | Path) -> Path:
    """Write the plan's three files into ``out`` atomically; returns the folder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        plan.placement.to_csv(tmp / "placement.csv", index=False)
        plan.service.to_csv(tmp / "service.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(_jsonable(plan.summary), indent=2) + "\n")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def update_summary(plan: Plan, out: str | Path) -> None:
    """Rewrite only summary.json of a written plan (atomically: a temporary file, then a rename),
    e.g. to record how long writing the plan took."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=".summary.json.", dir=out)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(_jsonable(plan.summary), indent=2) + "\n")
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, out / "summary.json")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_into_place(tmp: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder; choose another path")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
