"""Read a scenario folder and validate it at the boundary: every problem becomes one line that
names the file, column, offending ids and what is allowed; nothing invalid reaches a solver.

``load_scenario(folder, policy)`` is the only entry point most callers need.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .datafiles import data_dir
from .errors import InputError
from .policy import DEFAULT_POLICY, Policy, load_policy
from .scenario import Scenario
from .tables import CHIPS, COUNTRIES, INSTALLED, LINKS, MARKETS, SITES, Column, TableSpec

TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}
MAX_IDS = 8
TOL = 1e-9


def load_scenario(folder: str | Path, policy: str | Path | Policy | None = None) -> Scenario:
    """Read, type and check a scenario folder under a policy.

    The policy is ``policy`` when given (a Policy, preset name or TOML path), else the folder's
    ``policy.toml``, else the ``aidr-2025`` preset. Raises :class:`InputError` listing every
    problem found.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: scenario folder not found (it must hold sites.csv, "
                         "chips.csv and markets.csv)")
    t0 = time.perf_counter()
    clock = {"load": 0.0}
    pol = _resolve_policy(folder, policy)
    problems: list[str] = []
    known = _country_table()
    scenario_countries = _read_typed(folder, COUNTRIES, problems, set(), clock)
    if scenario_countries is not None:
        known |= set(scenario_countries.index)
    tables = {spec.file: _read_typed(folder, spec, problems, known, clock)
              for spec in (SITES, CHIPS, MARKETS, INSTALLED, LINKS)}
    _check_policy_codes(pol, known, problems)
    if problems:
        raise InputError(problems)
    tiers = resolve_tiers(pol, scenario_countries)
    scenario = Scenario(
        name=folder.resolve().name, sites=tables["sites.csv"], chips=tables["chips.csv"],
        markets=tables["markets.csv"], installed=_installed(tables["installed.csv"]),
        links=_links(tables["links.csv"]), tiers=tiers, policy=pol, path=folder,
    )
    scenario.sites.insert(1, "tier", scenario.sites["country"].map(tiers).fillna(2).astype(int))
    _check_references(scenario, problems)
    if problems:
        raise InputError(problems)
    scenario.load_timings.update(load=clock["load"], validate=time.perf_counter() - t0 - clock["load"])
    return scenario


def resolve_tiers(policy: Policy, scenario_countries: pd.DataFrame | None) -> pd.Series:
    """Country tiers: datasets/countries.csv, then the policy's [tiers], then countries.csv."""
    base = pd.read_csv(data_dir() / "countries.csv", keep_default_na=False)
    tiers = pd.Series(base["tier"].to_numpy(int), index=base["iso3"], name="tier")
    for iso3, tier in policy.tiers.items():
        tiers[iso3] = tier
    if scenario_countries is not None:
        for iso3, tier in scenario_countries["tier"].items():
            tiers[iso3] = int(tier)
    return tiers


def _resolve_policy(folder: Path, policy: str | Path | Policy | None) -> Policy:
    if isinstance(policy, Policy):
        return policy
    if policy is not None:
        return load_policy(policy)
    local = folder / "policy.toml"
    return load_policy(local if local.is_file() else DEFAULT_POLICY)


def _country_table() -> set[str]:
    table = pd.read_csv(data_dir() / "countries.csv", keep_default_na=False)
    return set(table["iso3"])


def _read_typed(folder: Path, spec: TableSpec, problems: list[str],
                known: set[str], clock: dict[str, float]) -> pd.DataFrame | None:
    """Read one CSV as text and convert it column by column; None when absent or broken."""
    path = folder / spec.file
    if not path.is_file():
        if spec.required_file:
            problems.append(f"{spec.file}: file missing from {folder}; it is required "
                            f"(columns {', '.join(c.name for c in spec.columns if c.required)})")
        return None
    t0 = time.perf_counter()
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        problems.append(f"{spec.file}: cannot be read as CSV ({str(exc).strip()})")
        return None
    finally:
        clock["load"] += time.perf_counter() - t0
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
    if missing:
        problems.append(f"{spec.file}: missing column(s) {', '.join(missing)}; required columns "
                        f"are {', '.join(c.name for c in spec.columns if c.required)}")
        return None
    before = len(problems)
    labels = _row_labels(raw, spec)
    out = pd.DataFrame(index=raw.index)
    for col in spec.columns:
        text = raw[col.name].astype(str).str.strip() if col.name in raw.columns else None
        out[col.name] = _convert(spec.file, col, text, labels, problems, known, len(raw))
    _check_duplicates(spec, out, labels, problems)
    if len(problems) > before:
        return None
    return out.set_index(list(spec.ids)) if len(spec.ids) == 1 else out


def _row_labels(raw: pd.DataFrame, spec: TableSpec) -> pd.Series:
    """How to name a row in a message: its id(s), or its line number when the id is blank."""
    ids = [raw[c].astype(str).str.strip() for c in spec.ids if c in raw.columns]
    label = ids[0] if len(ids) == 1 else ids[0].str.cat(ids[1:], sep="/") if ids else None
    lines = pd.Series([f"line {i + 2}" for i in range(len(raw))], index=raw.index)
    if label is None:
        return lines
    return label.where(label.str.strip("/") != "", lines)


def _convert(file: str, col: Column, text: pd.Series | None, labels: pd.Series,
             problems: list[str], known: set[str], n: int) -> pd.Series:
    """Convert one text column to its kind, reporting blanks, bad numbers and out-of-range values."""
    if text is None:
        return pd.Series([col.default] * n, index=labels.index)
    blank = text == ""
    if col.required and blank.any():
        problems.append(f"{file}: column {col.name} is empty in rows {_ids(labels[blank])}; "
                        "a value is required")
    if col.kind == "str":
        return text.where(~blank, "" if col.default is None else str(col.default))
    if col.kind == "iso3":
        codes = text.str.upper()
        bad = ~blank & ~codes.isin(known)
        if bad.any():
            problems.append(f"{file}: column {col.name} has unknown country code(s) in rows "
                            f"{_ids(labels[bad], text[bad])}; use ISO 3166-1 alpha-3 codes "
                            "(datasets/countries.csv), or add the code to the scenario's countries.csv")
        return codes
    if col.kind == "bool":
        lower = text.str.lower()
        bad = ~lower.isin(TRUE_WORDS | FALSE_WORDS)
        if bad.any():
            problems.append(f"{file}: column {col.name} must be true or false; rows "
                            f"{_ids(labels[bad], text[bad])}")
        return lower.isin(TRUE_WORDS)
    return _convert_number(file, col, text, blank, labels, problems)


def _convert_number(file: str, col: Column, text: pd.Series, blank: pd.Series,
                    labels: pd.Series, problems: list[str]) -> pd.Series:
    values = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
    unparsable = ~blank & values.isna() & ~text.str.lower().isin({"nan", "-nan", "+nan"})
    if unparsable.any():
        problems.append(f"{file}: column {col.name} has values that are not numbers in rows "
                        f"{_ids(labels[unparsable], text[unparsable])}")
    nonfinite = ~blank & ~unparsable & ~np.isfinite(values)
    if nonfinite.any():
        problems.append(f"{file}: column {col.name} must be finite; rows "
                        f"{_ids(labels[nonfinite], text[nonfinite])} have NaN or inf")
    ok = np.isfinite(values)
    low = ok & _below(values, col)
    if low.any():
        op = ">" if col.min_exclusive else ">="
        problems.append(f"{file}: column {col.name} must be {op} {col.min:g}; rows "
                        f"{_ids(labels[low], text[low])}")
    high = ok & (values > col.max) if col.max is not None else pd.Series(False, index=values.index)
    if high.any():
        problems.append(f"{file}: column {col.name} must be <= {col.max:g}; rows "
                        f"{_ids(labels[high], text[high])}")
    if col.default is not None:
        values = values.where(~blank, float(col.default))
    return values


def _below(values: pd.Series, col: Column) -> pd.Series:
    if col.min is None:
        return pd.Series(False, index=values.index)
    return values <= col.min if col.min_exclusive else values < col.min


def _check_duplicates(spec: TableSpec, table: pd.DataFrame, labels: pd.Series,
                      problems: list[str]) -> None:
    dup = table.duplicated(list(spec.ids), keep=False) & (labels.str.strip("/") != "")
    if dup.any():
        what = " and ".join(spec.ids)
        problems.append(f"{spec.file}: duplicate {what} {_ids(labels[dup].drop_duplicates())}; "
                        f"each {what} must appear once")


def _check_policy_codes(policy: Policy, known: set[str], problems: list[str]) -> None:
    codes = {"home_country": [policy.home_country] if policy.home_country else [],
             "[tiers]": list(policy.tiers), "[caps]": list(policy.caps)}
    for key, values in codes.items():
        bad = sorted(set(values) - known)
        if bad:
            problems.append(f"{policy.source}: {key} has unknown country code(s) {', '.join(bad)}; "
                            "use ISO 3166-1 alpha-3 codes")


def _check_references(s: Scenario, problems: list[str]) -> None:
    """Cross-file checks: ids that must exist, and an installed base that must fit its sites."""
    _known_ids("installed.csv", "site_id", s.installed["site_id"], s.sites.index, problems)
    _known_ids("installed.csv", "sku", s.installed["sku"], s.chips.index, problems)
    if s.links is not None:
        _known_ids("links.csv", "market_id", s.links["market_id"], s.markets.index, problems)
        _known_ids("links.csv", "site_id", s.links["site_id"], s.sites.index, problems)
    if problems:
        return
    inst = s.installed_matrix()
    power = inst.to_numpy() @ s.chips["power_kw"].to_numpy() / 1000.0
    racks = inst.to_numpy() @ (1.0 / s.chips["units_per_rack"].to_numpy())
    for what, used, limit in (("power_mw", power, s.sites["power_mw"]),
                              ("racks", racks, s.sites["racks"])):
        over = used > limit.to_numpy() * (1 + TOL) + TOL
        if over.any():
            ids = s.sites.index[over]
            detail = [f"{u:.6g} > {lim:.6g}" for u, lim in zip(used[over], limit[over])]
            problems.append(f"installed.csv: the installed fleet already exceeds sites.csv {what} "
                            f"at sites {_ids(pd.Series(ids), pd.Series(detail))}; "
                            "lower installed units or raise the site's limit")
    if s.policy.ban_tier3:
        tier3 = s.sites.index[s.sites["tier"] == 3]
        bad = s.installed.loc[s.installed["site_id"].isin(tier3) & (s.installed["units"] > 0)]
        if len(bad):
            problems.append(f"installed.csv: installed units at Tier-3 site(s) "
                            f"{_ids(bad['site_id'].drop_duplicates())}; policy {s.policy.name} "
                            "bans all compute in Tier-3 countries: remove them or change the policy")


def _known_ids(file: str, column: str, values: pd.Series, known: pd.Index,
               problems: list[str]) -> None:
    bad = values[~values.isin(known)].drop_duplicates()
    if len(bad):
        source = "sites.csv" if column == "site_id" else "chips.csv" if column == "sku" else "markets.csv"
        problems.append(f"{file}: unknown {column} {_ids(bad)}; every {column} must appear in {source}")


def _installed(table: pd.DataFrame | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({"site_id": pd.Series(dtype=str), "sku": pd.Series(dtype=str),
                             "units": pd.Series(dtype=float)})
    return table.loc[table["units"] > 0].reset_index(drop=True)


def _links(table: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if table is None else table.reset_index(drop=True)


def _ids(labels: pd.Series, values: pd.Series | None = None) -> str:
    """'S17, S40' or 'S17 (-3), S40 (-1.5)', cut after MAX_IDS with a count of the rest."""
    labels = [str(v) for v in labels]
    parts = labels if values is None else [
        f"{lab} ({val!s})" if str(val) != "" else f"{lab} (empty)" for lab, val in zip(labels, values)]
    more = len(parts) - MAX_IDS
    return ", ".join(parts[:MAX_IDS]) + (f" and {more} more" if more > 0 else "")
