"""Side-by-side comparison of two plans (per country, per site, per market) or two sweeps
(per variant)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.errors import InputError
from optimizer.io.planfiles import read_plan


def tier_move_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """For variants that differ from another only by one ``tier.K = 1``: the value of that move."""
    if "objective" not in table:
        return pd.DataFrame(columns=["country", "objective", "base_objective", "value_of_move"])
    params = [c for c in table.columns if c.startswith("param:")]
    moves = [c for c in params if c.startswith("param:tier.")]
    others = [c for c in params if c not in moves]
    key = lambda df: df[others].astype(str).agg("|".join, axis=1) if others else pd.Series("", index=df.index)
    moved = table[moves].notna().sum(axis=1) if moves else pd.Series(0, index=table.index)
    unmoved = table.loc[moved == 0]       # may be empty: every variant moves a tier (no base to compare)
    base = (unmoved.assign(_k=key(unmoved)).set_index("_k")["objective"] if len(unmoved)
            else pd.Series(dtype=float))
    rows = []
    for col in moves:
        sel = table.loc[(moved == 1) & table[col].notna()]
        for _, r in sel.iterrows():
            b = base.get(key(sel.loc[[r.name]]).iloc[0])
            if b is not None and pd.notna(r["objective"]):
                rows.append({"country": col.split(".", 1)[1], "to_tier": r[col], "objective": r["objective"],
                             "base_objective": b, "value_of_move": r["objective"] - b})
    out = pd.DataFrame(rows, columns=["country", "to_tier", "objective", "base_objective", "value_of_move"])
    return out.sort_values("value_of_move", ascending=False).reset_index(drop=True)


RESULT_COLUMNS = ["variant", "status", "objective", "served_pct", "cost_usd"]


def compare_dirs(a: Path, b: Path) -> dict[str, pd.DataFrame]:
    """Tables comparing two plan folders or two sweep folders; InputError (every problem of
    both folders at once) when they are not two of the same kind or cannot be read."""
    a, b = Path(a), Path(b)
    kinds = {a: _folder_kind(a), b: _folder_kind(b)}
    if kinds[a] == kinds[b] == "a sweep folder":
        ra, rb = _read_results(a, b)
        both = ra.merge(rb, on="variant", how="outer", suffixes=("_a", "_b"))
        both["objective_change"] = both["objective_b"] - both["objective_a"]
        return {"variants": both}
    if kinds[a] != "a plan folder" or kinds[b] != "a plan folder":
        raise InputError(f"compare: A {a} ({kinds[a]}) and B {b} ({kinds[b]}) must be two plan folders "
                         "(placement.csv) or two sweep folders (results.csv)")
    (pa, sa), (pb, sb) = _read_plans(a, b)
    return {
        "countries": _side(pa.groupby("country")["tpp"].sum(), pb.groupby("country")["tpp"].sum(), "tpp"),
        "sites": _side(pa.groupby("site_id")["tpp"].sum(), pb.groupby("site_id")["tpp"].sum(), "tpp"),
        "markets": _side(sa.groupby("market_id")["tpp"].sum(), sb.groupby("market_id")["tpp"].sum(), "served_tpp"),
    }


def comparison_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every comparison table as one (column ``table`` first, ids in ``id``), for a CSV file."""
    parts = []
    for name, t in tables.items():
        t = t if name == "variants" else t.rename_axis("id").reset_index()
        parts.append(t.assign(table=name)[["table", *t.columns]])
    return pd.concat(parts, ignore_index=True)


def _folder_kind(folder: Path) -> str:
    """What ``folder`` is, in words for messages: a plan folder, a sweep folder, or why neither."""
    if not folder.exists():
        return "not found"
    if not folder.is_dir():
        return "a file, not a folder"
    if (folder / "results.csv").exists():
        return "a sweep folder"
    if (folder / "placement.csv").exists():
        return "a plan folder"
    return "a folder with neither placement.csv nor results.csv"


def _read_plans(*folders: Path) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Placement and service of each plan, with the columns a comparison needs (fleetopt solve
    writes them; a hand-made plan may lack country or tpp)."""
    problems, plans = [], []
    for folder in folders:
        try:
            placement, service, _ = read_plan(folder)
        except InputError as exc:
            problems += exc.problems
            continue
        missing = [c for c in ("country", "tpp") if c not in placement.columns]
        if missing:
            problems.append(f"{folder / 'placement.csv'}: compare needs column(s) {', '.join(missing)} "
                            "(as fleetopt solve writes them)")
        plans.append((placement, service))
    if problems:
        raise InputError(problems)
    return plans


def _read_results(*folders: Path) -> list[pd.DataFrame]:
    """results.csv of each sweep folder, its comparison columns only, numbers as numbers."""
    problems, tables = [], []
    for folder in folders:
        path = folder / "results.csv"
        try:
            table = pd.read_csv(path, dtype={"variant": str, "status": str}, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, OSError) as exc:
            problems.append(f"{path}: not a readable results table ({str(exc).splitlines()[0] or type(exc).__name__})")
            continue
        missing = [c for c in RESULT_COLUMNS if c not in table.columns]
        if missing:
            problems.append(f"{path}: missing column(s) {', '.join(missing)}")
            continue
        table = table[RESULT_COLUMNS].copy()
        for col in ("objective", "served_pct", "cost_usd"):
            table[col] = pd.to_numeric(table[col], errors="coerce")   # failed variants have no numbers
        tables.append(table)
    if problems:
        raise InputError(problems)
    return tables


def _side(x: pd.Series, y: pd.Series, name: str) -> pd.DataFrame:
    t = pd.concat({f"{name}_a": x, f"{name}_b": y}, axis=1).fillna(0.0)
    t["change"] = t[f"{name}_b"] - t[f"{name}_a"]
    return t.loc[t["change"].abs().sort_values(ascending=False).index]
