"""Side-by-side comparison of two plans (per country, per site, per market) or two sweeps
(per variant)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import InputError
from .output import read_plan


def tier_move_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """For variants that differ from another only by one ``tier.K = 1``: the value of that move."""
    if "objective" not in table:
        return pd.DataFrame(columns=["country", "objective", "base_objective", "value_of_move"])
    params = [c for c in table.columns if c.startswith("param:")]
    moves = [c for c in params if c.startswith("param:tier.")]
    others = [c for c in params if c not in moves]
    key = lambda df: df[others].astype(str).agg("|".join, axis=1) if others else pd.Series("", index=df.index)  # noqa: E731
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


def compare_dirs(a: Path, b: Path) -> dict[str, pd.DataFrame]:
    """Tables comparing two plan folders or two sweep folders."""
    if (a / "results.csv").is_file() and (b / "results.csv").is_file():
        ra, rb = pd.read_csv(a / "results.csv"), pd.read_csv(b / "results.csv")
        cols = ["variant", "status", "objective", "served_pct", "cost_usd"]
        both = ra[cols].merge(rb[cols], on="variant", how="outer", suffixes=("_a", "_b"))
        both["objective_change"] = both["objective_b"] - both["objective_a"]
        return {"variants": both}
    if not (a / "placement.csv").is_file() or not (b / "placement.csv").is_file():
        raise InputError(f"compare: {a} and {b} must both be plan folders (placement.csv) or sweep folders "
                         "(results.csv)")
    pa, sa, _ = read_plan(a)
    pb, sb, _ = read_plan(b)
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


def _side(x: pd.Series, y: pd.Series, name: str) -> pd.DataFrame:
    t = pd.concat({f"{name}_a": x, f"{name}_b": y}, axis=1).fillna(0.0)
    t["change"] = t[f"{name}_b"] - t[f"{name}_a"]
    return t.loc[t["change"].abs().sort_values(ascending=False).index]
