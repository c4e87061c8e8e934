"""Plan files: placement.csv, service.csv and summary.json, written atomically, and on request
the same tables in Parquet (placement.parquet, service.parquet) and Excel (plan.xlsx: a summary
sheet, one sheet per table and a limits sheet). The CSV files are always written: ``check``,
``compare`` and :func:`read_plan` read them. summary.json's manifest lists every file (``files``).

The plan is first written into a hidden temporary folder beside DIR, then moved into place, so
a failed or interrupted run never leaves a half-written DIR (an older DIR stays until the new
one is complete). DIR must pass the output-folder rule (:mod:`optimizer.outdir`) and is locked
while it is written; summary.json carries the run manifest (:mod:`optimizer.io.manifest`).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.countries import policy_from_record
from optimizer.inputs.timeline import Timeline
from optimizer.inputs.validation import load_scenario
from optimizer.io.manifest import build_manifest, input_differences
from optimizer.outdir import PLAN_EXTRA_FILES, PLAN_FILES, atomic_dir, check_out_dir, out_lock
from optimizer.progress import phase
from optimizer.results.check import period_problems
from optimizer.results.plan import FILE_PRECISION, Plan, written_table
from optimizer.results.summary import freeze

FORMATS = {"csv": ("placement.csv", "service.csv"), "parquet": PLAN_EXTRA_FILES[:2], "xlsx": PLAN_EXTRA_FILES[2:3]}
ANALYSIS_FILES = {"prices": "prices.csv", "unserved": "unserved.csv"}   # Plan field -> file, when present


def plan_formats(spec: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The formats to write, from ``"csv,parquet,xlsx"`` (or a sequence): csv always (first),
    then the others named, each once; InputError naming any unknown one."""
    names = [n.strip().lower() for n in (spec.split(",") if isinstance(spec, str) else spec or []) if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise InputError(f"--format {', '.join(unknown)}: unknown; formats are {', '.join(FORMATS)} "
                         "(comma-separated; csv is always written)")
    return tuple(dict.fromkeys(["csv", *names]))


def write_plan(plan: Plan, out: str | Path, run: dict[str, Any] | None = None,
               formats: str | tuple[str, ...] | list[str] | None = None) -> Path:
    """Write the plan's files into ``out`` atomically; returns the folder.

    ``formats`` (see :func:`plan_formats`): csv always; ``parquet`` adds placement.parquet and
    service.parquet, ``xlsx`` plan.xlsx (:func:`write_excel`). A plan with shadow prices (fast
    path, optimal) also gets prices.csv and unserved.csv, its ``prices`` and ``unserved`` tables. summary.json is the plan's summary
    as built, plus what is known only now: ``run``, the manifest (built here from the plan's
    scenario when not given) with ``files``, every file of the folder, and ``timings.write``, the
    time taken to write the tables; they go into a copy, the plan itself is not changed. ``out``
    must be new, empty or a plan folder fleetopt wrote (InputError otherwise).
    """
    formats = plan_formats(formats)
    scenario = plan.scenario.path
    target = check_out_dir(out, "plan", scenario)
    if run is None:
        run = build_manifest("plan", scenario, plan.scenario.policy, {})
    analysis = {name: getattr(plan, field) for field, name in ANALYSIS_FILES.items() if getattr(plan, field) is not None}
    files = sorted({*PLAN_FILES, *analysis, *(f for fmt in formats for f in FORMATS[fmt])})
    with out_lock(target):
        check_out_dir(out, "plan", scenario, checked=target)     # again, under the lock
        with atomic_dir(target) as tmp:
            t0 = time.perf_counter()
            phase("write")
            placement, service = written_table(plan.placement), written_table(plan.service)   # rounded once
            placement.to_csv(tmp / "placement.csv", index=False)
            service.to_csv(tmp / "service.csv", index=False)
            for name, table in analysis.items():
                table.to_csv(tmp / name, index=False)
            if "parquet" in formats:
                placement.to_parquet(tmp / "placement.parquet", index=False)
                service.to_parquet(tmp / "service.parquet", index=False)
            summary = {**plan.summary, "run": {**run, "files": files}}   # a shallow copy: the plan's is read-only, and only read below
            if "xlsx" in formats:
                write_excel(placement, service, summary, tmp / "plan.xlsx")
            summary["timings"] = {**summary.get("timings", {}), "write": time.perf_counter() - t0}
            (tmp / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    return Path(out)


def write_excel(placement: pd.DataFrame, service: pd.DataFrame, summary: dict[str, Any], path: Path) -> None:
    """plan.xlsx: sheet ``summary`` (every number and word of summary.json, one row each, nested
    keys joined by dots, lists of words joined by commas), ``placement`` and ``service`` (the CSV
    tables) and ``limits`` (summary.json ``limits``). Infinities are left blank, like NaN."""
    sheets = {"summary": pd.DataFrame(_flat(summary), columns=["field", "value"]),
              "placement": placement, "service": service,
              "limits": pd.DataFrame(list(summary.get("limits", [])))}
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, table in sheets.items():
            table.replace([np.inf, -np.inf], np.nan).to_excel(book, sheet_name=name, index=False)


def _flat(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) for every scalar of a summary; a list of scalars as one comma-joined
    cell; lists of records (limits, countries, prices) are left to their own sheets or files."""
    if isinstance(obj, Mapping):
        return [row for k, v in obj.items() for row in _flat(v, f"{prefix}{k}.")]
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in obj):
            return [(prefix[:-1], ", ".join(str(v) for v in obj))]
        return []
    value = _jsonable(obj)
    return [(prefix[:-1], value)]
PLAN_COLUMNS = {"placement.csv": ["site_id", "sku", "installed_units", "new_units", "units"],
                "service.csv": ["market_id", "site_id", "tpp"]}
ID_COLUMNS = {"site_id": str, "sku": str, "market_id": str, "country": str, "period": str}
NUMERIC_COLUMNS = ("installed_units", "new_units", "units", "tpp", "power_kw", "racks", "rtt_ms", "tier")


def read_plan(folder: str | Path, periods: Sequence[str] | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read placement.csv, service.csv and (if present) summary.json from a plan folder.

    A plan made by hand or by another tool may lack summary.json. Anything else that cannot be
    read as a plan (a missing, empty, binary or malformed file, a missing column, a value that is
    not a finite number, a summary that is not a JSON object) is an InputError with one line per
    problem, all of them at once.

    ``periods``: the period ids of the multi-period scenario the plan is read for (periods.csv,
    in order), or None for a snapshot scenario. A plan of the other kind is refused, never
    misread (a multi-period plan has a ``period`` column and summary.json ``periods``); so is a
    multi-period plan whose summary lists other periods, or whose tables name unknown periods or
    list a (site_id, sku, period) twice.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "not found"
        raise InputError(f"{folder}: {what}; a plan folder holds {', '.join(PLAN_FILES)}")
    problems: list[str] = []
    tables = {name: _read_plan_table(folder / name, cols, problems) for name, cols in PLAN_COLUMNS.items()}
    summary = _read_summary(folder / "summary.json", problems)
    if not problems:
        problems += _kind_problems(folder, tables["placement.csv"], tables["service.csv"], summary, periods)
    if problems:
        raise InputError(problems)
    return tables["placement.csv"], tables["service.csv"], summary


def is_multi_period(placement: pd.DataFrame, summary: dict[str, Any]) -> bool:
    """A multi-period plan: summary.json lists ``periods`` or placement.csv has a ``period`` column."""
    return "periods" in summary or "period" in placement.columns


def _kind_problems(folder: Path, placement: pd.DataFrame, service: pd.DataFrame, summary: dict[str, Any],
                   periods: Sequence[str] | None) -> list[str]:
    """A snapshot plan read for a multi-period scenario or the reverse; and, for a multi-period
    plan, periods that are not the scenario's (optimizer.results.check.period_problems)."""
    multi = is_multi_period(placement, summary)
    if periods is None:
        return [f"{folder}: the plan has periods (placement.csv has a period column or summary.json lists "
                "periods): a multi-period plan, read here as a one-period plan only; fleetopt check audits "
                "it against the multi-period scenario it was made for (a folder with periods.csv)"] if multi else []
    if not multi:
        return [f"{folder}: a snapshot plan (placement.csv has no period column, summary.json lists no "
                f"periods), but the scenario is multi-period (periods.csv: {', '.join(periods)}): give "
                "the snapshot scenario the plan was made for, or solve the multi-period scenario"]
    recorded = summary.get("periods")
    if recorded is not None:
        ids = [p.get("period") if isinstance(p, dict) else None for p in recorded] \
            if isinstance(recorded, list) else None
        if ids is None or not all(isinstance(i, str) for i in ids):
            return [f"{folder / 'summary.json'}: field 'periods' must be a JSON array of objects, each "
                    "with its period id as a string in 'period'"]
        if ids != list(periods):
            return [f"{folder / 'summary.json'}: the plan's periods ({', '.join(ids)}) differ from the "
                    f"scenario's periods.csv ({', '.join(periods)}): the plan was made for another "
                    "timeline; check it against that scenario, or solve this one again"]
    return period_problems(placement, service, list(periods),
                           (str(folder / "placement.csv"), str(folder / "service.csv")))


def _read_plan_table(path: Path, columns: list[str], problems: list[str]) -> pd.DataFrame | None:
    """One plan CSV with its numeric columns as numbers; problems are appended, not raised."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "file missing"
        problems.append(f"{path}: {what}; a plan folder holds {', '.join(PLAN_COLUMNS)} (and summary.json)")
        return None
    not_text = f"{path}: not a UTF-8 text CSV file (binary, or another encoding)"
    try:
        if _looks_binary(path):
            problems.append(not_text)
            return None
        table = pd.read_csv(path, dtype=ID_COLUMNS, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(not_text)
        return None
    except pd.errors.EmptyDataError:
        problems.append(f"{path}: empty file; expected a header with columns {', '.join(columns)}")
        return None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        problems.append(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})")
        return None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        problems.append(f"{path}: missing column(s) {', '.join(missing)}; columns are {', '.join(columns)}")
    for col in [c for c in NUMERIC_COLUMNS if c in table.columns]:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
        if len(bad):
            problems.append(f"{path}: column {col}: {len(bad)} value(s) that are not finite numbers, first on "
                            f"line {bad[0] + 2} ({table[col].iloc[bad[0]]!r})")
        table[col] = values
    return table


def _looks_binary(path: Path) -> bool:
    """A NUL byte in the first 8 KiB: a binary file, which the CSV parser may half-read."""
    with path.open("rb") as fh:
        return b"\0" in fh.read(8192)


def _read_summary(path: Path, problems: list[str]) -> dict[str, Any]:
    """summary.json as a dict ({} when absent); problems are appended, not raised."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        summary = json.loads(text)
    except IsADirectoryError:
        problems.append(f"{path}: is a folder, not a file")
        return {}
    except UnicodeDecodeError:
        problems.append(f"{path}: not a UTF-8 text file (binary, or another encoding)")
        return {}
    except json.JSONDecodeError as exc:
        what = "empty file" if not text.strip() else f"not valid JSON ({exc.msg} at line {exc.lineno})"
        problems.append(f"{path}: {what}; remove it (a plan may lack summary.json) or write it again with "
                        "fleetopt solve")
        return {}
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror})")
        return {}
    if not isinstance(summary, dict):
        problems.append(f"{path}: expected a JSON object, found a JSON {_json_type(summary)}")
        return {}
    for key, kind, what in (("policy", dict, " (the policy record)"), ("mode", str, "")):
        if summary.get(key) is not None and not isinstance(summary[key], kind):
            problems.append(f"{path}: field {key!r}{what} must be a JSON {_json_type(kind())}, found a JSON "
                            f"{_json_type(summary[key])}")
    return summary


def _json_type(value: Any) -> str:
    """The JSON name of a parsed JSON value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return names.get(type(value), "null")


def _jsonable(obj: Any) -> Any:
    """numpy scalars to Python, NaN/inf to None (JSON has neither); any mapping to a dict."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


ANALYSIS_STR = ("limit", "family", "scope", "unit", "limit_unit", "range", "range_note", "market_id", "reason")


def load_plan(scenario: str | Path, folder: str | Path) -> Plan:
    """The Plan that ``solve`` returned for a plan folder fleetopt wrote, read back: its tables
    (placement.csv, service.csv, and prices.csv and unserved.csv when written), its summary as
    summary.json holds it less what writing added (``run``, ``timings.write``; JSON has no NaN or
    infinity: they read back as None), and the scenario folder under the policy the plan
    recorded. Built once, like a solved plan (frozen, its summary read-only).

    Raises InputError, every problem at once, for a folder that is not a plan (see
    :func:`read_plan`), a plan without summary.json or manifest (made by hand or by another tool:
    read it with :func:`read_plan`), a sweep variant that scaled demand or inventory, and a
    scenario whose input files are not those the plan was solved on (a plan is only the plan of
    its own inputs).
    """
    folder = Path(folder)
    placement, service, summary = read_plan(folder)
    run = summary.get("run")
    where = folder / "summary.json"
    if not isinstance(run, dict) or run.get("kind") != "plan":
        raise InputError(f"{where}: no plan manifest (a plan made by hand or by another tool); load_plan reads "
                         "plans fleetopt wrote: use read_plan for the raw tables")
    edits = [k for k in (summary.get("policy") or {}).get("sweep_parameters") or {}
             if k.split(".")[0] in ("demand_multiplier", "inventory_multiplier")]
    if edits:
        raise InputError(f"{where}: a sweep variant with {', '.join(edits)}: its scenario is not the folder's; "
                         "load_plan does not rebuild it (fleetopt check does)")
    differ = input_differences(run, build_manifest("plan", Path(scenario), None, {}))
    if differ:
        raise InputError(f"{folder}: was solved on other inputs than {scenario} ({', '.join(differ)}); "
                         "load it with the scenario it was solved on")
    s = load_scenario(scenario, policy_from_record(summary.get("policy"), str(where)))
    tables = {field: _read_analysis(folder / name, name in run.get("files", []))
              for field, name in ANALYSIS_FILES.items()}
    timings = {k: v for k, v in (summary.get("timings") or {}).items() if k != "write"}
    kept = {k: v for k, v in summary.items() if k != "run"} | {"timings": timings}
    return Plan(placement, service, freeze(kept), s, **tables)


def _read_analysis(path: Path, written: bool) -> pd.DataFrame | None:
    """prices.csv or unserved.csv as written (None when the plan had none)."""
    if not written:
        return None
    try:
        table = pd.read_csv(path, dtype=dict.fromkeys(ANALYSIS_STR, str), encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"{path}: not readable as fleetopt wrote it ({str(exc).splitlines()[0]})") from None
    return table


def _below_installed(folder: str | Path, timeline: Timeline, rows: pd.DataFrame, periods: list[str]) -> list[str]:
    """Where the frozen periods of a plan hold fewer units than installed.csv, or list no row for
    a site and sku that has installed units: no plan fleetopt writes does (the stock never falls
    below the installed base), and freezing it would silently change what the file states (a
    careless-user pass: a period's rows deleted were frozen at the installed base, no word said)."""
    installed = timeline.first.installed_matrix().stack()
    installed = installed[installed > 0]
    problems = []
    for period in periods:
        held = rows.loc[rows["period"] == period].groupby(["site_id", "sku"])["units"].sum()
        held = held.reindex(installed.index)
        short = held.index[held.isna() | (held < installed * (1 - FILE_PRECISION) - FILE_PRECISION)]
        if len(short):
            pairs = ", ".join(f"{s}/{c}" for s, c in short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
            problems.append(f"--plan {folder}: placement.csv holds fewer units than installed.csv (or no row) in "
                            f"period {period} at {len(short)} site/sku pair(s): {pairs}; a plan never holds less "
                            "than the installed base: re-plan from a plan that `fleetopt check` accepts")
    return problems


def read_frozen_stock(folder: str | Path, timeline: Timeline, through: str) -> dict[str, pd.Series]:
    """The new stock (units beyond the installed base, per site_id and sku) of an earlier
    multi-period plan in ``folder``, for every period up to and including ``through``: what
    ``--freeze-through`` fixes. InputError (exit 2) when ``through`` is not a period of the
    timeline, or the folder is not a multi-period plan (:func:`read_plan`) of these periods and of
    this scenario (summary.json ``scenario``)."""
    if through not in timeline.ids:
        raise InputError(f"--freeze-through {through}: not a period of periods.csv "
                         f"({', '.join(timeline.ids)})")
    placement, _, summary = read_plan(folder, timeline.ids)     # refuses a snapshot plan, other periods
    if summary.get("scenario") != timeline.name:
        raise InputError(f"--plan {folder}: {Path(folder) / 'summary.json'} is a plan of scenario "
                         f"{summary.get('scenario')!r}, not {timeline.name!r}; re-plan from a plan of this scenario")
    keep = timeline.ids[:timeline.ids.index(through) + 1]
    rows = placement.loc[placement["period"].isin(keep)]
    problems = _below_installed(folder, timeline, rows, keep)
    if problems:
        raise InputError(problems)
    stock = (rows["units"] - rows["installed_units"]).clip(lower=0.0)
    index = pd.MultiIndex.from_frame(rows[["site_id", "sku"]])
    return {p: pd.Series(stock.to_numpy()[(rows["period"] == p).to_numpy()],
                         index=index[(rows["period"] == p).to_numpy()], dtype=float)
            for p in keep}
