"""Benchmark harness: each solver path on generated fleets of increasing size, one process per
cell, phases timed separately, peak RSS recorded, objectives cross-checked, RESULTS.md written.

    fleetopt bench --sizes 100,1000,3000 --paths fast,plain,pulp --time-limit 600

A cell that passes its time limit is recorded as such (status ``time_limit``), not dropped.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .generate import generate_fleet

AGREE_REL = 1e-6


@dataclass
class BenchConfig:
    sizes: list[int]
    paths: list[str]
    time_limit: float = 600.0
    seed: int = 1
    skus: int = 12
    workdir: Path = Path("benchmarks/runs")
    results: Path = Path("benchmarks/RESULTS.md")
    command: str = ""
    extra_env: dict = field(default_factory=dict)


def metros_for(sites: int) -> int:
    """About 25 campuses per metro: 10,000 sites -> 400 metros, 1,600 markets."""
    return max(8, round(sites / 25))


def run_cell(scenario: str, path: str, out: str) -> dict:
    """Solve one scenario on one path in this process; phases in seconds, peak RSS in MB."""
    from .output import write_plan
    from .solve import solve
    from .validation import load_scenario
    t0 = time.perf_counter()
    s = load_scenario(scenario)
    t1 = time.perf_counter()
    plan = solve(s, path=path)
    t2 = time.perf_counter()
    write_plan(plan, out)
    t3 = time.perf_counter()
    tm = plan.summary["timings"]
    return {"status": plan.summary["status"], "objective": plan.summary["objective"],
            "load": t1 - t0, "build": tm.get("build", 0.0), "solve": tm.get("solve", 0.0),
            "extract": tm.get("extract", 0.0), "write": t3 - t2, "in_process": t3 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def _child(scenario: Path, path: str, out: Path, limit: float) -> dict:
    """Run a cell in a fresh interpreter; wall time covers start-up to plan written."""
    code = ("import json,sys; from optimizer.bench import run_cell; "
            "print('CELL ' + json.dumps(run_cell(sys.argv[1], sys.argv[2], sys.argv[3])))")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(scenario), path, str(out)],
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": "time_limit", "total": limit}
    total = time.perf_counter() - t0
    line = next((l for l in proc.stdout.splitlines() if l.startswith("CELL ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": f"failed: {tail[0][:120]}", "total": total}
    return {**json.loads(line[5:]), "total": total}


def run_benchmark(cfg: BenchConfig, echo=print) -> pd.DataFrame:
    """Every (size, path) cell, smallest first; a path that timed out is not tried at larger sizes."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    rows, given_up = [], set()
    for n in cfg.sizes:
        scenario = cfg.workdir / f"fleet-{n}"
        t0 = time.perf_counter()
        generate_fleet(scenario, sites=n, metros=metros_for(n), skus=cfg.skus, seed=cfg.seed)
        echo(f"generated {n} sites in {time.perf_counter() - t0:.1f} s")
        for path in cfg.paths:
            if path in given_up:
                rows.append({"sites": n, "path": path, "status": "skipped (timed out at a smaller size)"})
                continue
            cell = _child(scenario, path, cfg.workdir / f"plan-{n}-{path}", cfg.time_limit)
            if cell["status"] == "time_limit":
                given_up.add(path)
            rows.append({"sites": n, "path": path, **cell})
            echo(f"  {n:>6} sites  {path:<13} {cell['status']:<12} total {cell.get('total', float('nan')):8.2f} s")
    table = pd.DataFrame(rows)
    return _agreement(table)


def _agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Relative difference of each cell's objective from the fast path's at the same size."""
    if "objective" not in table:
        table["objective"] = float("nan")
    ref = table.loc[table["path"] == "fast"].set_index("sites")["objective"]
    base = table["sites"].map(ref)
    table["rel_diff_vs_fast"] = (table["objective"] - base).abs() / base.abs().clip(lower=1e-9)
    table["agrees"] = table["rel_diff_vs_fast"].le(AGREE_REL) | table["objective"].isna()
    return table


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import highspy  # noqa: PLC0415 - only for the version line
    return (f"{cpu}; {os.cpu_count()} cores; {mem_gb:.0f} GiB RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; highspy {getattr(highspy, '__version__', '?')}")
