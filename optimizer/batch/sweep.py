"""Batch planning runs: many variants of one scenario, solved fast, in parallel, resumably.

A variant is a dict of parameters applied to the base scenario (see :data:`PARAMETERS`). Variants
come from a grid (TOML: the product of listed values; CSV: one variant per row) and shorthands.
Each worker solves a contiguous chunk with one HiGHS model per structure, changing only bounds and
coefficients between variants and starting from the previous basis. Each variant's plan and
``result.json`` are written atomically under ``DIR/variants/ID/``; a rerun skips variants already
there, so an interrupted sweep resumes where it stopped. A failing variant is recorded with its
reason and the others go on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from optimizer.batch.compare import tier_move_ranking
from optimizer.batch.variants import Variant, result_path
from optimizer.batch.worker import ChunkSolver, load_base
from optimizer.errors import InputError
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.timeline import Timeline
from optimizer.io.manifest import build_manifest, resume_differences, timeline_manifest
from optimizer.model.data import Objective
from optimizer.outdir import (
    SWEEP_FILES,
    check_out_dir,
    out_lock,
    read_run,
    write_json_atomic,
    write_text_atomic,
    write_with,
)
from optimizer.planner.solve import check_objective


def solve_chunk(scenario_dir: str, policy: str | None, variants: list[Variant], out_dir: str,
                run: dict[str, Any]) -> list[dict]:
    """Solve variants in order (skipping those already done); returns their result rows.
    ``run``: the manifest each variant's plan records."""
    return ChunkSolver(scenario_dir, policy, Path(out_dir), run).run(variants)


def load_done(out_dir: Path, variants: list[Variant]) -> dict[str, dict]:
    done = {}
    for v in variants:
        path = result_path(out_dir, v.id)
        if path.is_file():
            try:
                done[v.id] = json.loads(path.read_text())
            except json.JSONDecodeError:
                continue
    return done


def chunks(items: list, n: int) -> list[list]:
    """n contiguous chunks (neighbouring variants share structure, so warm starts help)."""
    n = max(1, min(n, len(items)))
    size = math.ceil(len(items) / n) if items else 0
    return [items[i:i + size] for i in range(0, len(items), size)] if items else []


def sweep_manifest(base: Scenario | Timeline, variants: list[Variant], options: dict[str, Any],
                   started: str | None = None, objective: Objective | str = Objective.SERVE) -> dict[str, Any]:
    """The sweep's run manifest: the base scenario's files and policy (every period's, on a
    timeline), every policy file a variant names, the objective, the fleetopt version (together,
    the resume key) and the options. The objective is checked first, as ``solve`` checks it
    (InputError: ``margin`` with abstract values)."""
    objective = check_objective(base.first if isinstance(base, Timeline) else base, objective)
    specs = [str(v.params["policy"]) for v in variants if "policy" in v.params]
    run = (timeline_manifest(base, options, started, "sweep", specs) if isinstance(base, Timeline)
           else build_manifest("sweep", base.path, base.policy, options, started, variant_policies=specs))
    return {**run, "objective": objective.value}


def run_sweep(scenario_dir: Path, variants: list[Variant], out_dir: Path, policy: str | None = None,
              workers: int = 1, dask: str | None = None, progress: Callable[[dict], None] | None = None,
              run: dict[str, Any] | None = None,
              restart: bool = False, objective: Objective | str = Objective.SERVE) -> pd.DataFrame:
    """Solve every variant not yet done; write results.csv/.parquet and the chart; return the table.

    ``out_dir`` must be new, empty or a sweep folder (the output-folder rule). An existing sweep
    is resumed only when its manifest shows the same scenario files, policy (of every period),
    variant policy files, objective and fleetopt version as ``run`` (built here, under
    ``objective``, when not given; a given ``run`` carries its own ``objective``); otherwise
    InputError, unless ``restart``, which first removes what the sweep wrote. Each variant is
    solved under the run's objective. The returned table's ``attrs["skipped"]`` counts the
    variants done by an earlier run and skipped. On a scenario folder with periods.csv each
    variant is a multi-period plan, its parameters applied to every period.
    """
    target = check_out_dir(out_dir, "sweep", scenario_dir)
    with out_lock(target):
        check_out_dir(out_dir, "sweep", scenario_dir, checked=target)     # again, under the lock
        if run is None:
            run = sweep_manifest(load_base(scenario_dir, policy), variants, {"policy": policy}, objective=objective)
        run = _open_sweep(target, run, restart, out_dir)
        write_json_atomic(target / "sweep.json", {"run": run, "scenario": str(scenario_dir), "policy": policy,
                                                  "objective": run["objective"],
                                                  "variants": [dataclasses.asdict(v) for v in variants]})
        done = load_done(target, variants)
        todo = [v for v in variants if v.id not in done]
        for row in done.values():
            if progress:
                progress(row)
        plan_run = {**run, "kind": "plan"}
        parts = chunks(todo, workers)
        if dask:
            _run_dask(dask, scenario_dir, policy, parts, target, progress, plan_run)
        elif workers > 1 and len(parts) > 1:
            _run_processes(workers, scenario_dir, policy, parts, target, progress, plan_run)
        elif todo:
            for row in ChunkSolver(str(scenario_dir), policy, target, plan_run).rows(todo):
                if progress:
                    progress(row)
        table = collect_results(target, variants)
        write_results(table, target)
    table.attrs["skipped"] = len(done)
    return table


def _open_sweep(folder: Path, run: dict[str, Any], restart: bool, given: Path) -> dict[str, Any]:
    """Check an existing sweep's manifest against ``run`` (or discard the sweep when
    ``restart``); returns the manifest to record (variant policy files of both runs)."""
    if not (folder / "sweep.json").is_file():
        return run
    if restart:
        discard_sweep(folder)
        return run
    old = read_run(folder / "sweep.json")
    why = resume_differences(old, run)
    if why:
        raise InputError(f"--out {given}: this sweep folder was started with other inputs ({'; '.join(why)}); "
                         "use a new --out, or --restart to discard its results and run afresh")
    return {**run, "variant_policies": {**old.get("variant_policies", {}), **run.get("variant_policies", {})}}


def discard_sweep(folder: Path) -> None:
    """Remove what a sweep wrote into ``folder`` (its files and variants/), nothing else.
    sweep.json goes last: a run stopped half way leaves a folder still recognised as a sweep,
    which ``--restart`` can clear."""
    try:
        if (folder / "variants").exists():
            shutil.rmtree(folder / "variants")
        for name in sorted(SWEEP_FILES, key=lambda n: n == "sweep.json"):
            (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(f"--restart: cannot remove the earlier sweep in {folder} ({exc.strerror or exc}); "
                         "nothing new was written") from None


def _run_processes(workers, scenario_dir, policy, parts, out_dir, progress, run) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = [pool.submit(solve_chunk, str(scenario_dir), policy, part, str(out_dir), run) for part in parts]
        for fut in as_completed(futures):
            for row in fut.result():
                if progress:
                    progress(row)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()


def _stop_workers(pool) -> None:
    """Ctrl-C (or a failure) in the sweep: drop the queued chunks and end the running workers
    now instead of waiting for their chunks to finish. A variant a worker was writing leaves
    only a temporary name (every write is atomic), which the next run cleans up; the variants
    it finished stay, so a rerun resumes."""
    workers = list(getattr(pool, "_processes", None) or {})     # pids: the executor has no public list
    pool.shutdown(wait=False, cancel_futures=True)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _run_dask(address: str, scenario_dir, policy, parts, out_dir, progress, run) -> None:
    """On an existing Dask cluster (tcp://HOST:PORT), or a LocalCluster for ``local``."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--dask needs dask[distributed]: pip install 'fleetopt[dask]'") from None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True) if address == "local" else None
    try:
        with Client(cluster if cluster is not None else address) as client:
            futures = [client.submit(solve_chunk, str(scenario_dir), policy, part, str(out_dir), run, pure=False)
                       for part in parts]
            for fut in as_completed(futures):
                for row in fut.result():
                    if progress:
                        progress(row)
    except OSError as exc:
        raise InputError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    finally:
        if cluster is not None:
            cluster.close()


def collect_results(out_dir: Path, variants: list[Variant]) -> pd.DataFrame:
    """One row per variant, from its result.json (variants not yet solved are left out)."""
    rows = []
    for v in variants:
        path = result_path(out_dir, v.id)
        if path.is_file():
            rows.append(json.loads(path.read_text()))
    if not rows:
        return pd.DataFrame(columns=["variant", "status"])
    flat = []
    for r in rows:
        base = {k: v for k, v in r.items() if k != "params"}
        flat.append({**{f"param:{k}": v for k, v in r.get("params", {}).items()}, **base})
    return pd.DataFrame(flat)


SOLVED = ("optimal", "feasible")   # variants with a plan; "feasible" ones stopped at a limit


def sweep_counts(table: pd.DataFrame) -> str:
    """"N optimal, M feasible (limit reached), K infeasible, J failed" for a results table
    (failed: every other status: no plan, unbounded, solver error, bad parameter)."""
    status = table["status"] if "status" in table else pd.Series(dtype=str)
    n_opt, n_feas, n_inf = ((status == s).sum() for s in ("optimal", "feasible", "infeasible"))
    failed = len(status) - n_opt - n_feas - n_inf
    return f"{n_opt} optimal, {n_feas} feasible (limit reached), {n_inf} infeasible, {failed} failed"


def write_results(table: pd.DataFrame, out_dir: Path) -> None:
    """results.csv and results.parquet (lists and dicts as JSON text), the chart and, for tier
    moves, tier_moves.csv (removed when this run has none), each written atomically."""
    flat = _json_cells(table)
    write_with(out_dir / "results.csv", lambda p: flat.to_csv(p, index=False))
    write_with(out_dir / "results.parquet", lambda p: flat.to_parquet(p, index=False))
    write_text_atomic(out_dir / "objective_vs_parameters.svg", chart_svg(table))
    ranking = tier_move_ranking(table)
    if len(ranking):
        write_with(out_dir / "tier_moves.csv", lambda p: ranking.to_csv(p, index=False))
    else:
        (out_dir / "tier_moves.csv").unlink(missing_ok=True)


def _json_cells(table: pd.DataFrame) -> pd.DataFrame:
    """A copy that CSV and Parquet both take: lists and dicts as JSON text; a column mixing
    numbers and words (a numeric parameter swept to ``none``) as text throughout."""
    safe = table.copy()
    for col in safe.columns:
        if safe[col].dtype != object:
            continue
        values = safe[col].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
        present = values[values.notna()]
        kinds = set(present.map(lambda v: bool if isinstance(v, bool) else float if isinstance(v, (int, float))
                                else str))
        if len(kinds) != 1 or kinds == {str}:
            values = values.map(lambda v: str(v) if pd.notna(v) else None).astype("string")
        safe[col] = values
    return safe


def chart_svg(table: pd.DataFrame, width: int = 360, height: int = 240) -> str:
    """Objective against each numeric varied parameter, one small panel per parameter."""
    params = [c for c in table.columns if c.startswith("param:")
              and pd.to_numeric(table[c], errors="coerce").notna().sum() >= 2]
    ok = table.loc[table["status"].isin(SOLVED)] if "status" in table else table
    panels = []
    for k, col in enumerate(params):
        x = pd.to_numeric(ok[col], errors="coerce")
        y = pd.to_numeric(ok.get("objective"), errors="coerce")
        pts = pd.DataFrame({"x": x, "y": y}).dropna().sort_values("x")
        if len(pts) < 2:
            continue
        x0, x1, y0, y1 = pts.x.min(), pts.x.max(), pts.y.min(), pts.y.max()
        sx = lambda v: 50 + (v - x0) / ((x1 - x0) or 1) * (width - 70)
        sy = lambda v: height - 40 - (v - y0) / ((y1 - y0) or 1) * (height - 70)
        line = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(pts.x, pts.y))
        dots = "".join(f"<circle cx='{sx(a):.1f}' cy='{sy(b):.1f}' r='3' fill='#1f77b4'/>" for a, b in zip(pts.x, pts.y))
        panels.append(f"<g transform='translate({(k % 2) * width},{(k // 2) * height})'>"
                      f"<rect width='{width}' height='{height}' fill='white' stroke='#ddd'/>"
                      f"<text x='10' y='16' font-size='12'>objective vs {col[6:]}</text>"
                      f"<text x='50' y='{height - 12}' font-size='10'>{x0:g}</text>"
                      f"<text x='{width - 20}' y='{height - 12}' font-size='10' text-anchor='end'>{x1:g}</text>"
                      f"<text x='5' y='{sy(y1) + 4:.1f}' font-size='10'>{y1:.3g}</text>"
                      f"<text x='5' y='{sy(y0) + 4:.1f}' font-size='10'>{y0:.3g}</text>"
                      f"<polyline points='{line}' fill='none' stroke='#1f77b4'/>{dots}</g>")
    rows = max(1, math.ceil(len(panels) / 2))
    body = "".join(panels) or "<text x='10' y='20'>no numeric parameter varied</text>"
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{2 * width}' height='{rows * height}' "
            f"font-family='sans-serif'>{body}</svg>")
