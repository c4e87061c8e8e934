"""Benchmark harness: each solver path on generated fleets of increasing size, one process per
cell, phases timed separately, peak RSS recorded, objectives cross-checked, RESULTS.md written.

    fleetopt bench --sizes 100,1000,3000 --paths fast,plain,pulp --time-limit 600
    fleetopt bench --sizes 1000,10000 --paths fast --tariffs metro,site --baseline /tmp/v01
    fleetopt bench --sizes 1000,3000 --paths fast --periods 1,12 --tariffs metro,site

Fleets come with metro tariffs, per-site tariffs or both (``--tariffs``). ``--baseline DIR`` also
runs the fast path of another checkout (e.g. release 0.1: ``git archive 3e104df | tar -x -C DIR``)
on the same fleets in the same run, as the path ``fast@LABEL``, with ``--baseline-python`` in its own
environment (that release pip-installed in a venv: the solver versions it resolves to today). ``--periods 1,12`` makes each
fleet multi-period (``generate --periods N``: the same sites, markets and skus over N quarters)
and solves it with :func:`optimizer.planner.periods.solve_timeline`; the table of N periods
against 1 on the same fleet gives the ratio of their times. A cell that passes its time limit is
recorded as such (status ``time_limit``), not dropped.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.bench.generate import generate_fleet
from optimizer.outdir import check_out_file, first_line_is, write_text_atomic

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
    tariffs: tuple[str, ...] = ("metro",)
    baseline: Path | None = None      # a checkout whose fast path runs as BASELINE_PATH
    baseline_label: str = "0.1"
    baseline_max_sites: int | None = None    # the baseline is not run above this size
    load: str = ""                           # load average during the run (filled by run_benchmark)
    periods: tuple[int, ...] = ()            # multi-period fleets of these many quarters (() = snapshots)
    baseline_python: Path | None = None      # the interpreter of the baseline's own environment (None: this one)
    repeat: int = 1                          # fresh processes per cell; the median run is kept (repeated_cell)

    @property
    def baseline_path(self) -> str:
        return f"fast@{self.baseline_label}"


def metros_for(sites: int) -> int:
    """About 25 campuses per metro: 10,000 sites -> 400 metros, 1,600 markets."""
    return max(8, round(sites / 25))


INTEGER_PATHS = {"int-exact-highs": ("exact", "highs"), "int-exact-ortools": ("exact", "ortools"),
                 "int-exact-cbc": ("exact", "cbc"), "int-round": ("round", "highs")}


def solve_kwargs(path: str) -> dict:
    """solve() arguments for a benchmark path: a SolverPath value or an integer-mode name."""
    if path in INTEGER_PATHS:
        method, solver = INTEGER_PATHS[path]
        return {"integer": True, "method": method, "mip_solver": solver}
    return {"path": path}


PHASES = ("load", "validate", "build", "value_stage", "cost_stage", "solve", "extract", "write")


def run_cell(scenario: str, path: str, out: str) -> dict:
    """Solve one scenario on one path in this process; phases in seconds, peak RSS in MB.
    ``load`` is reading and validating (``validate`` the checks alone), ``solve`` both stages
    (``value_stage`` and ``cost_stage`` where the path reports them). A multi-period scenario
    (periods.csv) is solved as one plan over its periods."""
    from optimizer.inputs.timeline import has_periods, load_timeline
    from optimizer.inputs.validation import load_scenario
    from optimizer.io.planfiles import write_plan
    from optimizer.planner.periods import solve_timeline
    from optimizer.planner.solve import solve
    t0 = time.perf_counter()
    timeline = has_periods(scenario)
    s = load_timeline(scenario) if timeline else load_scenario(scenario)
    t1 = time.perf_counter()
    plan = solve_timeline(s, **solve_kwargs(path)) if timeline else solve(s, **solve_kwargs(path))
    t2 = time.perf_counter()
    write_plan(plan, out)
    t3 = time.perf_counter()
    tm = plan.summary["timings"]
    gap = (plan.summary.get("integer") or {}).get("gap")
    return {"status": plan.summary["status"], "objective": plan.summary["objective"], "gap": gap,
            "cost_usd": plan.summary["cost"]["total_usd"], "load": t1 - t0,
            **{k: tm.get(k, float("nan")) for k in ("validate", "build", "value_stage", "cost_stage", "solve", "extract")},
            "write": t3 - t2, "in_process": t3 - t0,
            "peak_rss_mb": max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
            / 1024.0}   # the larger of this process and its largest child (OR-Tools solves run in one)


CHILD = ("import json,sys\n"
         "try:\n    from optimizer.bench.harness import run_cell\n"
         "except ImportError:\n    from optimizer.bench import run_cell   # release 0.1's layout\n"
         "print('CELL ' + json.dumps(run_cell(sys.argv[1], sys.argv[2], sys.argv[3])))")


def _child(scenario: Path, path: str, out: Path, limit: float, checkout: Path | None = None,
           python: Path | None = None) -> dict:
    """Run a cell in a fresh interpreter (of ``checkout``'s code when given: another release;
    ``python``: that release's own environment); wall time covers start-up to plan written."""
    t0 = time.perf_counter()
    env = dict(os.environ)
    if checkout is not None:
        env["PYTHONPATH"] = str(Path(checkout).resolve())
    try:
        proc = subprocess.run([str(python or sys.executable), "-c", CHILD, str(Path(scenario).resolve()), path, str(Path(out).resolve())],
                              capture_output=True, text=True, timeout=limit, env=env,
                              cwd=None if checkout is None else str(Path(checkout).resolve()))
    except subprocess.TimeoutExpired:
        return {"status": "time_limit", "total": limit}
    total = time.perf_counter() - t0
    line = next((l for l in proc.stdout.splitlines() if l.startswith("CELL ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": f"failed: {tail[0][:120]}", "total": total}
    return {**json.loads(line[5:]), "total": total}


PLANNED = ("optimal", "feasible")        # the statuses of a cell that wrote a plan


def repeated_cell(run_once, repeat: int) -> dict:
    """Run a cell ``repeat`` times (``run_once``: one fresh process) and keep the run with the
    median total (for an even count the lower of the two middle ones), with every run's total in
    ``all_totals`` (in run order). A run that does not end optimal or feasible (a time limit, a
    failure, infeasible, no plan) ends the repeats and is the cell; runs whose statuses differ, or
    whose objectives differ by more than AGREE_REL (or are missing), make the cell's status say so:
    a rerun of the same solve must give the same optimum. Every repeat writes the same plan folder,
    so the plan on disk is the last run's."""
    runs = []
    for _ in range(repeat):
        runs.append(run_once())
        if runs[-1]["status"] not in PLANNED:
            return {**runs[-1], "all_totals": _totals(runs)}
    cell = sorted(runs, key=lambda c: c["total"])[(len(runs) - 1) // 2]
    statuses = sorted({c["status"] for c in runs})
    objectives = np.array([np.nan if c.get("objective") is None else float(c["objective"]) for c in runs])
    if len(statuses) > 1:
        cell = {**cell, "status": f"unstable: statuses differ across repeats ({', '.join(statuses)})"}
    elif not np.isfinite(objectives).all() or np.ptp(objectives) > AGREE_REL * max(1.0, float(np.abs(objectives).max())):
        cell = {**cell, "status": f"unstable: objectives differ across repeats ({objectives.min():.9g} to {objectives.max():.9g})"}
    return {**cell, "all_totals": _totals(runs)}


def _totals(runs: list[dict]) -> str:
    return ", ".join(f"{c['total']:.2f}" for c in runs)


def fleet_dir(cfg: BenchConfig, n: int, tariffs: str, periods: int | None = None) -> Path:
    """Where the fleet of ``n`` sites goes (metro snapshot fleets keep their old name)."""
    name = f"fleet-{n}" + ("" if tariffs == "metro" else f"-{tariffs}")
    return cfg.workdir / (name if periods is None else f"{name}-p{periods}")


def fleets(cfg: BenchConfig) -> list[tuple[int, str, int | None]]:
    """Every (sites, tariffs, periods) fleet of the run, smallest first; periods None: a snapshot."""
    return [(n, tariffs, periods) for n in cfg.sizes for tariffs in cfg.tariffs for periods in (cfg.periods or (None,))]


def run_benchmark(cfg: BenchConfig, echo=print) -> pd.DataFrame:
    """Every (size, tariffs, path) cell, smallest first, then the baseline's fast path when
    given; a path that timed out is not tried at larger sizes (of the same tariffs)."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    rows, given_up = [], set()
    paths = [*cfg.paths, *([cfg.baseline_path] if cfg.baseline is not None else [])]
    start = os.getloadavg()
    for n, tariffs, periods in fleets(cfg):
        scenario = fleet_dir(cfg, n, tariffs, periods)
        t0 = time.perf_counter()
        generate_fleet(scenario, sites=n, metros=metros_for(n), skus=cfg.skus, seed=cfg.seed, periods=periods,
                       tariffs=tariffs)
        over = f", {periods} periods" if periods else ""
        echo(f"generated {n} sites ({tariffs} tariffs{over}) in {time.perf_counter() - t0:.1f} s")
        cell_key = {"sites": n, "tariffs": tariffs, **({"periods": periods} if periods else {})}
        for path in paths:
            if (tariffs, periods, path) in given_up:
                rows.append({**cell_key, "path": path, "status": "skipped (timed out at a smaller size)"})
                continue
            if path == cfg.baseline_path and cfg.baseline_max_sites is not None and n > cfg.baseline_max_sites:
                rows.append({**cell_key, "path": path,
                             "status": f"skipped (above --baseline-max-sites {cfg.baseline_max_sites})"})
                continue
            out = cfg.workdir / f"plan-{n}-{tariffs}{'-p' + str(periods) if periods else ''}-{path}"
            if path == cfg.baseline_path:
                cell = repeated_cell(lambda: _child(scenario, "fast", out, cfg.time_limit, checkout=cfg.baseline,
                                                    python=cfg.baseline_python), cfg.repeat)
            else:
                cell = repeated_cell(lambda: _child(scenario, path, out, cfg.time_limit), cfg.repeat)
            if cell["status"] == "time_limit":
                given_up.add((tariffs, periods, path))
            rows.append({**cell_key, "path": path, **cell})
            echo(f"  {n:>6} sites  {tariffs:<5} {over[2:]:<11} {path:<13} {cell['status']:<12} "
                 f"total {cell.get('total', float('nan')):8.2f} s"
                 + (f" (median of {cell['all_totals']})" if cfg.repeat > 1 else ""))
    end = os.getloadavg()
    cfg.load = (f"load average (1, 5, 15 min) {start[0]:.1f}, {start[1]:.1f}, {start[2]:.1f} at the start and "
                f"{end[0]:.1f}, {end[1]:.1f}, {end[2]:.1f} at the end, on {os.cpu_count()} cores")
    table = pd.DataFrame(rows)
    return _agreement(table)


def _agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Relative difference of each cell's objective from the fast path's on the same fleet; LP
    paths must agree, integer paths may only be lower (their gap is reported separately)."""
    for col in ("objective", "gap"):
        if col not in table:
            table[col] = float("nan")
    if "tariffs" not in table:
        table["tariffs"] = "metro"
    key = fleet_keys(table)
    fast = table["path"] == "fast"
    ref = dict(zip([k for k, f in zip(key, fast) if f], table.loc[fast, "objective"]))
    base = pd.Series([ref.get(k, float("nan")) for k in key], index=table.index)
    table["rel_diff_vs_fast"] = (table["objective"] - base).abs() / base.abs().clip(lower=1e-9)
    integer = table["path"].isin(list(INTEGER_PATHS))
    lp_ok = table["rel_diff_vs_fast"].le(AGREE_REL)
    int_ok = (table["objective"] <= base * (1 + AGREE_REL)) | base.isna()
    table["agrees"] = table["objective"].isna() | (~integer & lp_ok) | (integer & int_ok)
    return table


def fleet_keys(table: pd.DataFrame) -> list[tuple]:
    """Each row's fleet: (sites, tariffs, periods; 0 periods for a snapshot)."""
    periods = table["periods"].fillna(0).astype(int) if "periods" in table else pd.Series(0, index=table.index)
    return list(zip(table["sites"], table["tariffs"], periods))


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
    return (f"{cpu}; {os.cpu_count()} cores; {mem_gb:.0f} GiB RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {libraries(sys.executable)}")


LIBRARIES = ("highspy", "highspy-extras", "ortools", "pulp", "numpy", "pandas")


def libraries(python: Path | str) -> str:
    """The versions of the solver and array packages in the environment of ``python``."""
    code = ("import importlib.metadata as m\n"
            f"for n in {LIBRARIES!r}:\n"
            "    try: print(n, m.version(n))\n"
            "    except m.PackageNotFoundError: print(n, 'absent')")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return ", ".join(done.stdout.split("\n")[:-1]) if done.returncode == 0 else f"unknown ({python} failed)"


RESULTS_TITLE, SWEEP_TITLE = "# Benchmark results", "# Sweep benchmark"     # the files' first lines
SVG_START = "<svg xmlns='http://www.w3.org/2000/svg'"


def plot_path(results: Path) -> Path:
    """The plot written beside a results file (RESULTS-x.md: total_time_vs_sites-x.svg)."""
    return results.with_name(f"total_time_vs_sites{results.stem.replace('RESULTS', '')}.svg")


def check_results_paths(results: Path, title: str = RESULTS_TITLE, plot: bool = True) -> None:
    """--results (and its plot) may replace only files a benchmark wrote (their first lines); a
    user's file there is an InputError before any cell runs."""
    check_out_file(results, "--results", (), lambda p: first_line_is(p, title), "a benchmark results file")
    if plot:
        check_out_file(plot_path(results), "--results", (), lambda p: first_line_is(p, SVG_START),
                       "a benchmark plot (written beside --results)")


def write_results(table: pd.DataFrame, cfg: BenchConfig) -> Path:
    """RESULTS.md (machine, command, table, speed-up ratios) and a plot of total time vs sites."""
    cfg.results.parent.mkdir(parents=True, exist_ok=True)
    svg = plot_path(cfg.results)
    write_text_atomic(svg, plot_svg(table))
    cols = ["sites", "tariffs", *(["periods"] if cfg.periods else []), "path", "status", "total", "load", "validate", "build", "value_stage",
            "cost_stage", "solve", "extract", "write", "peak_rss_mb", "objective", "rel_diff_vs_fast", "gap",
            *(["all_totals"] if cfg.repeat > 1 else [])]
    shown = table.reindex(columns=cols)
    lines = [
        RESULTS_TITLE, "",
        f"Machine: {machine()}", "",
        *([f"Baseline `{cfg.baseline_path}`: {cfg.baseline} in its own environment ({cfg.baseline_python}: "
           f"{libraries(cfg.baseline_python)})", ""] if cfg.baseline_python is not None else []),
        *([f"Conditions: {cfg.load} (other processes share the machine when the load exceeds "
           f"the cores: every time here is then inflated)", ""] if cfg.load else []),
        f"Reproduce: `{cfg.command}`", "",
        "Each cell is one fresh process: `total` is wall-clock seconds from interpreter start to plan "
        "written (read CSVs, validate, build, solve, expand, write); the phases are measured inside "
        "it (`load` includes `validate`; `solve` is `value_stage` + `cost_stage` where the path reports "
        "them). `tariffs`: `metro` fleets give a metro's campuses one tariff and PUE, `site` fleets "
        "each site its own. `rel_diff_vs_fast` is |objective - fast objective| / fast objective on "
        "the same fleet. "
        f"Time limit per cell: {cfg.time_limit:.0f} s; a path that hits it is not run at larger sizes."
        + (f" Each cell ran {cfg.repeat} times, each in a fresh process, one after another: its row is the run "
           f"with the median total (its phases too; for an even count the lower middle run), `all_totals` "
           f"lists every run's total in order, and the ratios below divide these medians." if cfg.repeat > 1 else ""), "",
        _markdown(shown), "",
        "## Speed-up of the fast path (total time ratio, same run)", "",
        _markdown(speedups(table)), "",
        *(["## N periods against 1 on the same fleet (time ratios, same run)", "",
           "`total`: end to end in a fresh process; `solve`: both stages of the LP. The fleets share "
           "sites, markets and skus (`fleetopt generate --periods N`, same seed).", "",
           _markdown(period_ratios(table)), ""] if len(cfg.periods) > 1 else []),
        "## Scaling (total ~ sites^k)", "",
        _markdown(scaling(table)), "",
        f"![total time vs sites]({svg.name})", "",
    ]
    write_text_atomic(cfg.results, "\n".join(lines))
    return cfg.results


def speedups(table: pd.DataFrame) -> pd.DataFrame:
    """total(path) / total(fast) per fleet (size and tariffs); '>' when the path hit its time limit."""
    rows = []
    key = fleet_keys(table)
    fast = table["path"] == "fast"
    ref = dict(zip([k for k, f in zip(key, fast) if f], table.loc[fast, "total"]))
    for k, r in zip(key, table.itertuples()):
        base = ref.get(k)
        if r.path == "fast":
            continue
        if base is None or pd.isna(r.total):
            continue
        prefix = ">" if r.status == "time_limit" else ""
        rows.append({"sites": r.sites, "tariffs": r.tariffs, **({"periods": k[2]} if k[2] else {}), "path": r.path,
                     "fast_total_s": round(float(base), 2),
                     "path_total_s": f"{prefix}{r.total:.2f}", "speedup": f"{prefix}{r.total / base:.1f}x",
                     "rel_diff_vs_fast": r.rel_diff_vs_fast})
    return pd.DataFrame(rows)


def period_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Per sites, tariffs and path: the total and solve seconds of each multi-period cell against
    the fewest-periods cell of the same fleet ('>' when the longer one hit its time limit)."""
    if "periods" not in table:
        return pd.DataFrame()
    rows = []
    cells = table.dropna(subset=["periods"])
    for (sites, tariffs, path), grp in cells.groupby(["sites", "tariffs", "path"], sort=False):
        grp = grp.sort_values("periods")
        base = grp.iloc[0]
        for _, r in grp.iloc[1:].iterrows():
            prefix = ">" if r["status"] == "time_limit" else ""
            row = {"sites": sites, "tariffs": tariffs, "path": path, "periods": f"{int(r['periods'])} vs {int(base['periods'])}"}
            for col in ("total", "solve"):
                both = pd.notna(r.get(col)) and pd.notna(base.get(col))
                row[f"{col}_s"] = f"{prefix}{r[col]:.2f} vs {base[col]:.2f}" if both else ""
                row[f"{col}_ratio"] = f"{prefix}{r[col] / base[col]:.1f}x" if both else ""
            rows.append(row)
    return pd.DataFrame(rows)


def scaling(table: pd.DataFrame) -> pd.DataFrame:
    """Per path and tariffs, the exponent k of total ~ sites^k between consecutive sizes and by a
    least-squares fit over all of them (solved cells only)."""
    import numpy as np
    rows = []
    done = table.loc[table["status"].isin(PLANNED) & table["total"].notna()]
    done = done.assign(periods=done["periods"].fillna(0).astype(int) if "periods" in done else 0)
    for (tariffs, periods, path), grp in done.groupby(["tariffs", "periods", "path"], sort=False):
        grp = grp.sort_values("sites")
        n, sec = np.log(grp["sites"].to_numpy(float)), np.log(grp["total"].to_numpy(float))
        if len(n) < 2:
            continue
        steps = [f"{a:g}->{b:g}: {(y2 - y1) / (x2 - x1):.2f}"
                 for a, b, x1, x2, y1, y2 in zip(grp["sites"], grp["sites"][1:], n, n[1:], sec, sec[1:])]
        rows.append({"tariffs": tariffs, **({"periods": periods} if periods else {}), "path": path,
                     "sites": f"{grp['sites'].min()}-{grp['sites'].max()}",
                     "exponent_fit": round(float(np.polyfit(n, sec, 1)[0]), 2), "between_sizes": "; ".join(steps)})
    return pd.DataFrame(rows)


def _markdown(df: pd.DataFrame) -> str:
    if df.empty:
        return "(none)"
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if (isinstance(v, float) and pd.isna(v)) else fmt(v) for v in row) + " |"
            for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def plot_svg(table: pd.DataFrame, width: int = 640, height: int = 400) -> str:
    """Log-log lines of total seconds against sites, one per path (hand-written SVG, no deps)."""
    import math
    data = table.dropna(subset=["total"])
    data = data.loc[data["total"] > 0]
    if data.empty:
        return "<svg xmlns='http://www.w3.org/2000/svg'/>"
    x0, x1 = math.log10(data["sites"].min()), math.log10(data["sites"].max()) + 1e-9
    y0, y1 = math.log10(data["total"].min()) - 0.1, math.log10(data["total"].max()) + 0.1
    L, R, T, B = 70, 150, 20, 50
    px = lambda v: L + (math.log10(v) - x0) / (x1 - x0) * (width - L - R)
    py = lambda v: height - B - (math.log10(v) - y0) / (y1 - y0) * (height - T - B)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' font-size='12'>",
             f"<rect width='{width}' height='{height}' fill='white'/>",
             f"<line x1='{L}' y1='{height - B}' x2='{width - R}' y2='{height - B}' stroke='black'/>",
             f"<line x1='{L}' y1='{T}' x2='{L}' y2='{height - B}' stroke='black'/>",
             f"<text x='{(width - R + L) / 2}' y='{height - 10}' text-anchor='middle'>sites (log scale)</text>",
             f"<text x='15' y='{(height - B + T) / 2}' transform='rotate(-90 15 {(height - B + T) / 2})' text-anchor='middle'>total seconds (log scale)</text>"]
    for n in sorted(set(data["sites"])):
        parts.append(f"<text x='{px(n):.1f}' y='{height - B + 15}' text-anchor='middle'>{n}</text>")
    for e in range(math.floor(y0), math.ceil(y1) + 1):
        if y0 <= e <= y1:
            parts.append(f"<text x='{L - 5}' y='{py(10 ** e) + 4:.1f}' text-anchor='end'>{10 ** e:g}</text>")
            parts.append(f"<line x1='{L}' y1='{py(10 ** e):.1f}' x2='{width - R}' y2='{py(10 ** e):.1f}' stroke='#ddd'/>")
    tariffs = data["tariffs"] if "tariffs" in data else pd.Series("metro", index=data.index)
    line = data["path"] + tariffs.map(lambda v: "" if v == "metro" else f" ({v})")
    if "periods" in data:
        line += data["periods"].map(lambda v: f" x{v:.0f}" if pd.notna(v) else "")
    for k, (path, grp) in enumerate(data.groupby(line, sort=False)):
        grp = grp.sort_values("sites")
        color = colors[k % len(colors)]
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(grp["sites"], grp["total"]))
        parts.append(f"<polyline points='{pts}' fill='none' stroke='{color}' stroke-width='2'/>")
        for a, b, st in zip(grp["sites"], grp["total"], grp["status"]):
            mark = "none" if st == "time_limit" else color
            parts.append(f"<circle cx='{px(a):.1f}' cy='{py(b):.1f}' r='4' fill='{mark}' stroke='{color}'/>")
        parts.append(f"<text x='{width - R + 10}' y='{T + 20 + 18 * k}' fill='{color}'>{path}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def run_sweep_benchmark(sites: int = 3000, n_variants: int = 50, seed: int = 1, skus: int = 12,
                        workdir: Path = Path("benchmarks/runs/sweep"), results: Path = Path("benchmarks/SWEEP.md"),
                        echo=print) -> dict:
    """A sweep of the 7 % limit (UVEU preset, so the 7 % binds) against as many separate
    ``fleetopt solve`` runs, each end to end in its own process, on the same generated fleet."""
    import tomllib

    from optimizer.datafiles import policies_dir
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = generate_fleet(workdir / f"fleet-{sites}", sites=sites, metros=metros_for(sites), skus=skus, seed=seed)
    shares = [round(0.05 + 0.002 * i, 6) for i in range(n_variants)]
    base = tomllib.loads((policies_dir() / "aidr-2025-uveu.toml").read_text())
    cli = [sys.executable, "-c", "from cli import app; app()"]
    separate, t0 = {}, time.perf_counter()
    for a in shares:
        pol = workdir / f"policy-{a}.toml"
        write_text_atomic(pol, "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**base, "max_tier2_country_share": a}.items()
                                          if not isinstance(v, dict)) + "\n")
        out = workdir / f"solve-{a}"
        subprocess.run([*cli, "solve", str(scenario), "--out", str(out), "--policy", str(pol)],
                       check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2])
        separate[a] = json.loads((out / "summary.json").read_text())["objective"]
    t_separate = time.perf_counter() - t0
    echo(f"{n_variants} separate solves: {t_separate:.1f} s")
    rows = {"separate solves": t_separate}
    objectives = {}
    for workers in (1, 2):
        out = workdir / f"sweep-w{workers}"
        t1 = time.perf_counter()
        subprocess.run([*cli, "sweep", str(scenario), "--out", str(out), "--restart", "--policy", "aidr-2025-uveu",
                        "--workers", str(workers), "--vary", "max_tier2_country_share=" + ",".join(map(str, shares))],
                       check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2])
        rows[f"sweep, {workers} worker(s)"] = time.perf_counter() - t1
        table = pd.read_csv(out / "results.csv")
        objectives[workers] = dict(zip(table["param:max_tier2_country_share"].round(6), table["objective"]))
        echo(f"sweep with {workers} worker(s): {rows[f'sweep, {workers} worker(s)']:.1f} s")
    worst = max(abs(objectives[w][a] - separate[a]) / max(abs(separate[a]), 1e-9) for w in objectives for a in shares)
    lines = [SWEEP_TITLE, "", f"Machine: {machine()}", "",
             f"Reproduce: `fleetopt bench-sweep --sites {sites} --variants {n_variants} --seed {seed} --skus {skus}`", "",
             f"{n_variants} variants of max_tier2_country_share (0.05 to {shares[-1]}) on a generated {sites}-site fleet "
             "under aidr-2025-uveu; every time is wall-clock, end to end, measured in this one run.", "",
             "| run | seconds | speed-up vs separate solves |", "|---|---|---|"]
    lines += [f"| {k} | {v:.1f} | {t_separate / v:.1f}x |" for k, v in rows.items()]
    lines += ["", f"Largest relative difference of a sweep objective from the separate solve's: {worst:.2e}", ""]
    results.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(results, "\n".join(lines))
    return {"times": rows, "worst_rel_diff": worst}
