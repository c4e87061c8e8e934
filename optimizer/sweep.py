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

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from .countries import dataset_countries, place_sites, policy_problems, resolve_countries, unknown_codes
from .errors import InputError
from .manifest import build_manifest, resume_differences
from .outdir import SWEEP_FILES, check_out_dir, out_lock, read_run, write_json_atomic, write_text_atomic, write_with
from .policy import Policy, load_policy
from .scenario import Scenario

POLICY_FIELDS = ("min_home_share", "min_tier1_share", "max_tier2_country_share", "tier2_country_cap_tpp")
PARAMETERS = {
    "policy": "preset name or TOML path (applied first; the other policy fields then override it)",
    **{f: "policy field" for f in POLICY_FIELDS},
    "tier.ISO3": "move a country to tier 1, 2 or 3",
    "cap.ISO3": "that country's cap, TPP",
    "demand_multiplier": "every market's demand x this", "demand_multiplier.ISO3": "that country's markets",
    "inventory_multiplier": "every sku's inventory x this", "inventory_multiplier.SKU": "that sku",
}


@dataclass(frozen=True)
class Variant:
    id: str
    params: dict[str, Any]


def variant_id(params: dict[str, Any]) -> str:
    """Stable id from the parameters (so resuming does not depend on grid order)."""
    text = json.dumps(params, sort_keys=True, default=str)
    slug = "_".join(f"{k}={v}" for k, v in sorted(params.items()))[:60] or "base"
    slug = "".join(ch if ch.isalnum() or ch in "._=-" else "-" for ch in slug)
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def parse_values(key: str, value: Any) -> list:
    """A list as is; "a:b:step" as the inclusive range; a scalar as a one-element list."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.count(":") == 2 and key != "policy":
        try:
            a, b, step = (float(v) for v in value.split(":"))
        except ValueError:
            raise InputError(f"grid: {key} = {value!r}: a range is START:STOP:STEP with numbers") from None
        if step <= 0 or b < a:
            raise InputError(f"grid: {key} = {value!r}: STEP must be > 0 and STOP >= START")
        n = int(math.floor((b - a) / step + 1e-9)) + 1
        return [round(a + i * step, 12) for i in range(n)]
    return [value]


def check_keys(keys: Iterable[str], where: str) -> None:
    bad = [k for k in keys if k.split(".")[0] not in {p.split(".")[0] for p in PARAMETERS}
           or (k.split(".")[0] in ("tier", "cap") and "." not in k)]
    if bad:
        raise InputError(f"{where}: unknown parameter(s) {', '.join(bad)}; parameters are "
                         f"{', '.join(PARAMETERS)}")


def grid_variants(grid: Path | None, vary: list[str], policies: list[str], each_tier2: bool,
                  base: Scenario) -> list[Variant]:
    """All variants: the grid file's, then the shorthands' (each combined as a product)."""
    axes: dict[str, list] = {}
    rows: list[dict] = []
    if grid is not None:
        if not grid.is_file():
            raise InputError(f"--grid {grid}: file not found")
        text = _grid_text(grid)
        if grid.suffix == ".csv":
            rows = [{k: _scalar(v) for k, v in r.items() if v != ""} for r in csv.DictReader(io.StringIO(text))]
            if not rows:
                raise InputError(f"--grid {grid}: no variants (a CSV grid is a header and one row per variant)")
            check_keys({k for r in rows for k in r}, str(grid))
        else:
            try:
                raw = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise InputError(f"{grid}: not valid TOML ({exc})") from None
            each_tier2 = each_tier2 or bool(raw.pop("each_tier2_country_to_tier1", False))
            if not raw and not each_tier2:
                raise InputError(f"--grid {grid}: no parameters (a TOML grid is KEY = [values] or "
                                 "KEY = \"START:STOP:STEP\" lines)")
            check_keys(raw, str(grid))
            axes.update({k: parse_values(k, v) for k, v in raw.items()})
    for item in vary:
        key, sep, value = item.partition("=")
        if not sep or not value.strip() or "" in (v.strip() for v in value.split(",")):
            raise InputError(f"--vary {item!r}: expected KEY=START:STOP:STEP or KEY=V1,V2 with no empty "
                             "value (write none to lift a limit)")
        check_keys([key], "--vary")
        axes[key] = parse_values(key, value) if ":" in value else [_scalar(v) for v in value.split(",")]
    if policies:
        axes["policy"] = policies
    product = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())] if axes else [{}]
    if rows:
        product = [{**r, **p} for r in rows for p in product]
    if each_tier2:
        countries = sorted(set(base.sites.loc[base.sites["tier"] == 2, "policy_country"]))
        product = [p for p in product] + [{**p, f"tier.{k}": 1} for p in product for k in countries]
    nan_keys = sorted({k for p in product for k, v in p.items() if isinstance(v, float) and math.isnan(v)})
    if nan_keys:
        raise InputError(f"grid: {', '.join(nan_keys)} = nan is not a value; write none to lift a limit")
    seen, variants = set(), []
    for params in product:
        vid = variant_id(params)
        if vid not in seen:
            seen.add(vid)
            variants.append(Variant(vid, params))
    return variants


def _grid_text(grid: Path) -> str:
    """The grid file's text; a file that is not UTF-8 text is an InputError, not a traceback."""
    try:
        return grid.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--grid {grid}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); "
                         "save it as UTF-8 TOML or CSV") from None
    except OSError as exc:
        raise InputError(f"--grid {grid}: cannot read ({exc.strerror})") from None


def _scalar(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def apply_variant(base: Scenario, params: dict[str, Any]) -> Scenario:
    """The base scenario with the variant's policy, tiers, caps, demand and inventory.

    Policy parameters (``policy``, the policy fields, ``tier.ISO3``, ``cap.ISO3``) edit the policy:
    a tier move goes into its ``[tiers]`` (the top of tier precedence, optimizer.countries), so the
    variant's plan records the edited policy and passes ``fleetopt check`` on its own. A cap the
    policy sets on a country that this variant moves out of Tier 2 is dropped, with a note. The
    edited policy is validated like a file; any problem is an InputError naming the variant.
    """
    where = f"sweep variant {json.dumps(params, sort_keys=True, default=str)}"
    try:
        policy = load_policy(params["policy"]) if "policy" in params else base.policy
        policy, dropped = _edited_policy(policy, params)
        countries = resolve_countries(policy, base.scenario_tiers)
        known = set(dataset_countries().index) | set(base.scenario_tiers)
        problems = unknown_codes("", {"tier.ISO3": list(policy.tiers), "cap.ISO3": list(policy.caps)}, known)
        refused, notes = policy_problems(policy, countries) if not problems else ([], [])
        if problems or refused:
            raise InputError(problems + refused)
    except InputError as exc:
        raise InputError([f"{where}: {line}" for line in exc.problems]) from None
    sites = place_sites(base.sites, countries)
    if policy.ban_tier3:
        tier3 = set(sites.index[sites["tier"] == 3])
        stuck = sorted(set(base.installed.loc[base.installed["site_id"].isin(tier3), "site_id"]))
        if stuck:
            raise InputError(f"installed units at sites that this variant puts in Tier 3 ({', '.join(stuck[:5])}); "
                             "the Tier-3 ban cannot hold")
    notes = [*_notes_not_about_tiers(base), *countries.notes, *notes,
             *(f"{where}: the policy's cap on {k} is dropped: this variant moves {k} to Tier "
               f"{countries.tiers[k]} (caps apply to Tier-2 countries only)" for k in dropped)]
    edited = apply_scenario_edits(base, params)
    return dataclasses.replace(edited, sites=sites, tiers=countries.tiers, counts_as=countries.counts_as,
                               policy=policy, notes=list(dict.fromkeys(notes)), variant=dict(params))


def _notes_not_about_tiers(base: Scenario) -> list[str]:
    """The base scenario's notes without those its own policy's tier resolution made (a variant
    resolves tiers again under its own policy, and says its own)."""
    countries = resolve_countries(base.policy, base.scenario_tiers)
    stale = {*countries.notes, *policy_problems(base.policy, countries)[1]}
    return [n for n in base.notes if n not in stale]


def _edited_policy(policy: Policy, params: dict[str, Any]) -> tuple[Policy, list[str]]:
    """The policy with the variant's field values, tier moves and caps (validated by Policy);
    and the countries whose policy cap was dropped because the variant moves them out of Tier 2."""
    changes = {f: (None if params[f] in (None, "none", "") else _number(f, params[f]))
               for f in POLICY_FIELDS if f in params}
    moves = {k.partition(".")[2].upper(): v for k, v in params.items() if k.startswith("tier.")}
    caps = {k.partition(".")[2].upper(): _number(k, v) for k, v in params.items() if k.startswith("cap.")}
    dropped = sorted(k for k, t in moves.items() if t != 2 and k in policy.caps and k not in caps)
    kept = {k: v for k, v in policy.caps.items() if k not in dropped}
    edited = dataclasses.replace(policy, caps={**kept, **caps}, tiers={**policy.tiers, **moves}, **changes)
    return edited, dropped


def apply_scenario_edits(base: Scenario, params: Mapping[str, Any]) -> Scenario:
    """The scenario with a variant's demand and inventory multipliers (its non-policy parameters);
    ``fleetopt check`` applies them too, from a variant plan's record."""
    markets, chips = base.markets.copy(), base.chips.copy()
    for key, value in params.items():
        head, _, tail = key.partition(".")
        if head == "demand_multiplier":
            mask = markets["country"] == tail.upper() if tail else slice(None)
            markets.loc[mask, "demand_tpp"] *= _number(key, value)
        elif head == "inventory_multiplier":
            mask = chips.index == tail if tail else slice(None)
            chips.loc[mask, "inventory"] *= _number(key, value)
    return dataclasses.replace(base, markets=markets, chips=chips)


def _number(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{key} = {value!r}: must be a number") from None


# ------------------------------------------------------------------------------------------
# Solving: one worker solves a chunk of variants, reusing HiGHS models of the same structure.
# ------------------------------------------------------------------------------------------

def solve_chunk(scenario_dir: str, policy: str | None, variants: list[Variant], out_dir: str,
                run: dict[str, Any]) -> list[dict]:
    """Solve variants in order (skipping those already done); returns their result rows.
    ``run``: the manifest each variant's plan records."""
    from .sweep_worker import ChunkSolver  # noqa: PLC0415 - the solver layer, loaded in the worker
    return ChunkSolver(scenario_dir, policy, Path(out_dir), run).run(variants)


def result_path(out_dir: Path, vid: str) -> Path:
    return out_dir / "variants" / vid / "result.json"


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


def sweep_manifest(base: Scenario, variants: list[Variant], options: dict[str, Any],
                   started: str | None = None) -> dict[str, Any]:
    """The sweep's run manifest: the base scenario's files and policy, every policy file a
    variant names, the fleetopt version (together, the resume key) and the options."""
    specs = [str(v.params["policy"]) for v in variants if "policy" in v.params]
    return build_manifest("sweep", base.path, base.policy, options, started, variant_policies=specs)


def run_sweep(scenario_dir: Path, variants: list[Variant], out_dir: Path, policy: str | None = None,
              workers: int = 1, dask: str | None = None, progress: Callable[[dict], None] | None = None,
              chunks_per_worker: int = 1, run: dict[str, Any] | None = None,
              restart: bool = False) -> pd.DataFrame:
    """Solve every variant not yet done; write results.csv/.parquet and the chart; return the table.

    ``out_dir`` must be new, empty or a sweep folder (the output-folder rule). An existing sweep
    is resumed only when its manifest shows the same scenario files, policy, variant policy
    files and fleetopt version as ``run`` (built here when not given); otherwise InputError,
    unless ``restart``, which first removes what the sweep wrote. The returned table's
    ``attrs["skipped"]`` counts the variants done by an earlier run and skipped.
    """
    target = check_out_dir(out_dir, "sweep", scenario_dir)
    with out_lock(target):
        check_out_dir(out_dir, "sweep", scenario_dir)     # again, under the lock
        if run is None:
            from .validation import load_scenario  # noqa: PLC0415 - validation imports the model layer
            run = sweep_manifest(load_scenario(scenario_dir, policy), variants, {"policy": policy})
        run = _open_sweep(target, run, restart, out_dir)
        write_json_atomic(target / "sweep.json", {"run": run, "scenario": str(scenario_dir), "policy": policy,
                                                  "variants": [dataclasses.asdict(v) for v in variants]})
        done = load_done(target, variants)
        todo = [v for v in variants if v.id not in done]
        for row in done.values():
            if progress:
                progress(row)
        plan_run = {**run, "kind": "plan"}
        parts = chunks(todo, workers * chunks_per_worker if (workers > 1 or dask) else 1)
        if dask:
            _run_dask(dask, scenario_dir, policy, parts, target, progress, plan_run)
        elif workers > 1 and len(parts) > 1:
            _run_processes(workers, scenario_dir, policy, parts, target, progress, plan_run)
        elif todo:
            from .sweep_worker import ChunkSolver  # noqa: PLC0415
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
    """Remove what a sweep wrote into ``folder`` (its files and variants/), nothing else."""
    shutil.rmtree(folder / "variants", ignore_errors=True)
    for name in SWEEP_FILES:
        (folder / name).unlink(missing_ok=True)


def _run_processes(workers, scenario_dir, policy, parts, out_dir, progress, run) -> None:
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: PLC0415
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(solve_chunk, str(scenario_dir), policy, part, str(out_dir), run) for part in parts]
        for fut in as_completed(futures):
            for row in fut.result():
                if progress:
                    progress(row)


def _run_dask(address: str, scenario_dir, policy, parts, out_dir, progress, run) -> None:
    """On an existing Dask cluster (tcp://HOST:PORT), or a LocalCluster for ``local``."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed  # noqa: PLC0415
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
    from .compare import tier_move_ranking  # noqa: PLC0415 - compare reads plans (output layer)
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
        sx = lambda v: 50 + (v - x0) / ((x1 - x0) or 1) * (width - 70)  # noqa: E731
        sy = lambda v: height - 40 - (v - y0) / ((y1 - y0) or 1) * (height - 70)  # noqa: E731
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
