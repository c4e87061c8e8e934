"""Read a scenario folder and validate it at the boundary: every problem becomes one line that
names the file, column, offending ids and what is allowed; nothing invalid reaches a solver.

``load_scenario(folder, policy)`` is the only entry point most callers need.
"""
from __future__ import annotations

import difflib
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.datafiles import resolve_scenario, scenario_not_found
from optimizer.errors import InputError
from optimizer.inputs.countries import dataset_countries, place_sites, policy_problems, resolve_countries, unknown_codes
from optimizer.inputs.economics import USD_H100E_HOUR_TO_TPP_YEAR, Economics, read_economics
from optimizer.inputs.links import link_rule_notes
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.tables import (
    CHIPS,
    COUNTRIES,
    INSTALLED,
    LINKS,
    MARKET_USD,
    MARKETS,
    MARKETS_USD,
    SITES,
    Column,
    TableSpec,
)
from optimizer.policy.policy import DEFAULT_POLICY, Policy, parse_policy, policy_codes, read_policy_file, recased_codes
from optimizer.progress import phase

TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}
MAX_IDS = 8
TOL = 1e-9


def load_scenario(folder: str | Path, policy: str | Path | Policy | None = None) -> Scenario:
    """Read, type and check a scenario folder (or a shipped scenario by name, see
    :func:`optimizer.datafiles.resolve_scenario`) under a policy.

    The policy is ``policy`` when given (a Policy, preset name or TOML path), else the folder's
    ``policy.toml``, else the ``aidr-2025`` preset. Tiers follow :mod:`optimizer.inputs.countries`.
    Raises :class:`InputError` listing every problem found, the policy's and the CSV files' together.
    A multi-period folder (periods.csv, or one of the files read only beside it) is refused: it is
    read by :func:`optimizer.inputs.timeline.load_timeline`, never as a snapshot that ignores files.
    """
    folder, where = scenario_folder(folder)
    t0 = time.perf_counter()
    phase("load")       # reading and typing each file (its own checks included)
    clock = {"load": 0.0}
    problems = snapshot_only_problems(folder)
    resolved = resolve_policy(folder, policy, problems)
    files = read_folder(folder, problems, clock)
    phase("validate")   # the checks across files: codes, policy under the tiers, references
    scenario = build_scenario(folder, files, resolved, problems)
    if problems or scenario is None:
        raise InputError(problems)
    scenario.notes[:0] = where
    scenario.load_timings.update(load=clock["load"], validate=time.perf_counter() - t0 - clock["load"])
    return scenario


def scenario_folder(spec: str | Path) -> tuple[Path, list[str]]:
    """The folder a SCENARIO names (a path, or a shipped dataset's name: a local folder of that
    name wins, see :func:`optimizer.datafiles.resolve_scenario`) and the note that choice needs;
    InputError when it is not a folder."""
    folder, note = resolve_scenario(spec)
    if not folder.is_dir():
        raise InputError(scenario_not_found(folder))
    return folder, [note] if note else []


PERIODS_FILE = "periods.csv"
PERIOD_ONLY_FILES = ("deliveries.csv", "capacity.csv", "demand.csv")


def snapshot_only_problems(folder: Path) -> list[str]:
    """Problems when ``folder`` holds the files of a multi-period scenario: periods.csv (read by
    the multi-period loader, not here), or a file read only beside it (refused without it)."""
    present = [name for name in PERIOD_ONLY_FILES if os.path.lexists(folder / name)]
    if os.path.lexists(folder / PERIODS_FILE):
        return [f"{PERIODS_FILE}: {folder} is a multi-period scenario, and this command plans a single "
                "snapshot (it would ignore periods.csv); use a command that plans periods (README "
                "'Multi-period scenarios') or remove periods.csv"]
    return [f"{name}: is read only in a multi-period scenario, and {folder} has no {PERIODS_FILE}; "
            f"add {PERIODS_FILE} (period, years) or remove {name}" for name in present]


@dataclass(frozen=True)
class ResolvedPolicy:
    """A policy as read for a scenario: the policy (None when broken), the country codes it
    names, its source (for messages), the policy the tier checks run on (see
    :func:`resolve_policy`), and notes on how its file was read."""

    policy: Policy | None
    codes: dict[str, list[str]]
    source: str
    partial: Policy | None
    notes: tuple[str, ...] = ()     # codes written in lower or mixed case, read in upper case


@dataclass(frozen=True)
class FolderTables:
    """A scenario folder's CSV files, read and typed once: the snapshot tables by file name
    (None: absent or broken), the scenario's countries.csv (None: broken), the country codes
    the tables may name, notes on ignored columns, economics.toml, and whether every file read
    cleanly."""

    tables: dict[str, pd.DataFrame | None]
    scenario_tiers: dict[str, int] | None
    known: set[str]
    notes: list[str]
    economics: Economics
    ok: bool


def resolve_policy(folder: Path, policy: str | Path | Policy | None, problems: list[str]) -> ResolvedPolicy:
    """The scenario's policy: ``policy`` (a Policy, preset name or TOML path), else the folder's
    policy.toml, else the default preset; its problems go to ``problems``."""
    pol, codes, source, partial, raw = _policy_and_codes(folder, policy, problems)
    recased = recased_codes(raw)
    notes = (f"{source}: country code(s) not in upper case, read as {', '.join(recased)}",) if recased else ()
    return ResolvedPolicy(pol, codes, source, partial, notes)


def read_folder(folder: Path, problems: list[str], clock: dict[str, float]) -> FolderTables:
    """Read and type the snapshot CSV files of ``folder`` (problems to ``problems``)."""
    before, notes = len(problems), []
    scenario_tiers = _scenario_tiers(folder, problems, clock, notes)
    known = set(dataset_countries().index) | set(scenario_tiers or {})
    tables = {spec.file: _read_typed(folder, spec, problems, known, clock, notes)
              for spec in (SITES, CHIPS, MARKETS, INSTALLED, LINKS)}
    economics = read_economics(folder, problems)
    if len(problems) == before:
        _check_reference_ids(tables, problems)
    return FolderTables(tables, scenario_tiers, known, notes, economics, ok=len(problems) == before)


def build_scenario(folder: Path, files: FolderTables, resolved: ResolvedPolicy, problems: list[str],
                   capacity_source: str = "sites.csv") -> Scenario | None:
    """The validated Scenario of typed tables under a resolved policy; None (problems added) when
    the tables, the policy or their combination is invalid. ``capacity_source`` names where the
    sites' power_mw and racks came from, for the installed-base check's message."""
    before = len(problems)
    code_problems = unknown_codes(resolved.source, resolved.codes, files.known)
    problems += code_problems
    policy_notes: list[str] = []
    if resolved.partial is not None and files.scenario_tiers is not None and not code_problems:
        countries = resolve_countries(resolved.partial, files.scenario_tiers)
        refused, policy_notes = policy_problems(resolved.partial, countries)
        problems += refused
    if len(problems) > before or not files.ok or resolved.policy is None:
        return None
    tables = files.tables
    scenario = Scenario(
        name=folder.resolve().name, sites=place_sites(tables["sites.csv"], countries),
        chips=tables["chips.csv"], markets=tables["markets.csv"],
        installed=_installed(tables["installed.csv"]), links=_links(tables["links.csv"]),
        tiers=countries.tiers, policy=resolved.policy, path=folder,
        notes=[*files.notes, *resolved.notes, *countries.notes, *policy_notes],
        counts_as=countries.counts_as, scenario_tiers=files.scenario_tiers,
        economics=replace(files.economics, dollars=MARKET_USD.name in tables["markets.csv"].columns),
    )
    _check_references(scenario, problems, capacity_source)
    if len(problems) > before:
        return None
    if scenario.links is not None:
        scenario.notes.extend(link_rule_notes(scenario.links, scenario.markets, scenario.sites))
    return scenario


def _policy_and_codes(folder: Path, policy: str | Path | Policy | None, problems: list[str]
                      ) -> tuple[Policy | None, dict[str, list[str]], str, Policy | None, Mapping[str, Any]]:
    """The policy (None when it is broken: its problems go to ``problems``), the country codes it
    names, its source (for messages), the policy to run the tier-dependent checks on (the
    policy itself, or, for a broken one, the policy made of its valid keys, so that a bad value
    does not hide a cap on a Tier-1 country; None when even that cannot be built), and the values
    as written (a Policy's own, already in canonical form; {} when the file cannot be read)."""
    if isinstance(policy, Policy):
        return policy, policy_codes(policy.values()), policy.source, policy, policy.values()
    local = folder / "policy.toml"
    spec = policy if policy is not None else local if local.is_file() else DEFAULT_POLICY
    try:
        raw, source = read_policy_file(spec)
    except InputError as exc:
        problems.extend(exc.problems)
        return None, {}, str(spec), None, {}
    try:
        pol = parse_policy(raw, source)
        return pol, policy_codes(raw), source, pol, raw
    except InputError as exc:
        problems.extend(exc.problems)
        return None, policy_codes(raw), source, _valid_part(raw, source), raw


def _valid_part(raw: dict, source: str) -> Policy | None:
    """The policy of ``raw``'s keys that parse on their own (with home_country beside them, which
    some keys need); None when that is still not a policy."""
    context = {"home_country": raw["home_country"]} if "home_country" in raw else {}

    def parses(key: str) -> bool:
        try:
            parse_policy({**context, key: raw[key]} if key != "home_country" else {key: raw[key]}, source)
            return True
        except InputError:
            return False

    try:
        return parse_policy({k: v for k, v in raw.items() if parses(k)}, source)
    except InputError:
        return None


def _scenario_tiers(folder: Path, problems: list[str], clock: dict[str, float],
                    notes: list[str]) -> dict[str, int] | None:
    """The scenario's countries.csv as iso3 (upper case) -> tier; {} when absent, None when broken.

    A tier must be exactly 1, 2 or 3; a code is three letters, case-insensitive, listed once."""
    before = len(problems)
    table = _read_typed(folder, COUNTRIES, problems, set(), clock, notes)
    if table is None:
        return {} if len(problems) == before else None
    codes = pd.Series(table.index.astype(str).str.strip().str.upper(), index=table.index)
    bad_code = ~codes.str.fullmatch(r"[A-Z]{3}")
    if bad_code.any():
        problems.append(f"countries.csv: column iso3 must hold three-letter codes (ISO 3166-1 alpha-3); "
                        f"rows {_ids(pd.Series(table.index[bad_code]))}")
    tier = table["tier"]
    bad_tier = ~tier.isin([1.0, 2.0, 3.0])
    if bad_tier.any():
        problems.append(f"countries.csv: column tier must be exactly 1, 2 or 3; rows "
                        f"{_ids(pd.Series(table.index[bad_tier]), tier[bad_tier].map(lambda v: f'{v:g}'))}")
    twice = codes[codes.duplicated(keep=False)].drop_duplicates()
    if len(twice):
        problems.append(f"countries.csv: {_ids(twice)} listed more than once (codes are case-insensitive); "
                        "list each country once")
    if len(problems) > before:
        return None
    written = pd.Series(table.index.astype(str).str.strip(), index=table.index)
    recased = codes != written
    if recased.any():
        notes.append(f"countries.csv: column iso3 has code(s) not in upper case, read as "
                     f"{_ids(written[recased] + ' -> ' + codes[recased])}")
    return dict(zip(codes, tier.astype(int)))


def _read_typed(folder: Path, spec: TableSpec, problems: list[str], known: set[str],
                clock: dict[str, float], notes: list[str]) -> pd.DataFrame | None:
    """Read one CSV as text and convert it column by column; None when absent or broken.

    Unknown columns are kept out of the model: a near miss of a known column is a problem ("did
    you mean"), any other is named in ``notes``.
    """
    t0 = time.perf_counter()
    try:
        raw = _read_text(folder, spec, problems)
    finally:
        clock["load"] += time.perf_counter() - t0
    if raw is None:
        return None
    before = len(problems)
    spec = _market_spec(list(raw.columns), problems) if spec is MARKETS else spec
    if spec is None or not _check_header(spec, list(raw.columns), problems, notes):
        return None
    if len(raw) == 0 and spec.required_file:
        problems.append(f"{spec.file}: has no rows (only a header); it needs at least one "
                        f"{spec.ids[0]}")
        return None
    if len(raw) == 0 and spec is LINKS:
        notes.append("links.csv has no rows: no site may serve any market (when links.csv is "
                     "present, exactly its pairs may serve)")
    labels = _row_labels(raw, spec)
    out = pd.DataFrame(index=raw.index)
    for col in spec.columns:    # a required column the header lacks is reported already
        if col.name in raw.columns or not col.required:
            text = raw[col.name].astype(str).str.strip() if col.name in raw.columns else None
            out[col.name] = _convert(spec.file, col, text, labels, problems, known, len(raw), notes)
    if set(spec.ids) <= set(out.columns):
        _check_duplicates(spec, out, labels, problems)
    if spec is MARKETS_USD and len(problems) == before:
        out["value"] = out[MARKET_USD.name] * USD_H100E_HOUR_TO_TPP_YEAR
    if spec in (MARKETS, MARKETS_USD) and len(problems) == before:
        _check_value_ratio(out, labels, problems, MARKET_USD.name if spec is MARKETS_USD else "value")
    if len(problems) > before:
        return None
    return out.set_index(list(spec.ids)) if len(spec.ids) == 1 else out


def _read_text(folder: Path, spec: TableSpec, problems: list[str]) -> pd.DataFrame | None:
    """The file's cells as strings, its columns named by the header exactly as written
    (duplicates kept); None, with a problem, when it is missing, not a file or not CSV text."""
    path = folder / spec.file
    if path.is_symlink() and not path.exists():
        problems.append(f"{spec.file}: is a link to {os.readlink(path)}, which does not exist")
        return None
    if not path.exists():
        if spec.required_file:
            problems.append(f"{spec.file}: file missing from {folder}; it is required "
                            f"(columns {', '.join(c.name for c in spec.columns if c.required)})")
        return None
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        problems.append(f"{spec.file}: is {kind}; it must be a CSV file (or absent, if optional)")
        return None
    try:
        cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False,
                            skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        problems.append(f"{spec.file}: is empty; it needs a header line "
                        f"({','.join(c.name for c in spec.columns if c.required)}) and rows")
        return None
    except UnicodeDecodeError:
        problems.append(f"{spec.file}: is not UTF-8 text (a binary file?); save it as CSV in UTF-8")
        return None
    except (pd.errors.ParserError, ValueError) as exc:
        first = path.read_text(encoding="utf-8-sig", errors="replace").partition("\n")[0].strip("\r")
        problems.append(_separator_problem(spec, [first]) or f"{spec.file}: cannot be read as CSV ({str(exc).strip()})")
        return None
    except OSError as exc:
        problems.append(f"{spec.file}: cannot be read ({exc.strerror or exc})")
        return None
    separated = _separator_problem(spec, list(cells.iloc[0]))
    if separated:
        problems.append(separated)
        return None
    if cells.apply(lambda c: c.str.contains("\x00", regex=False)).to_numpy().any():
        problems.append(f"{spec.file}: holds NUL bytes (a binary file?); save it as CSV in UTF-8")
        return None
    raw = cells.iloc[1:].reset_index(drop=True)
    raw.columns = list(cells.iloc[0])
    return raw


def _market_spec(header: list[str], problems: list[str]) -> TableSpec | None:
    """markets.csv gives its values as ``value`` (abstract) or ``usd_per_h100e_hour`` (dollars),
    never both (None, with a problem)."""
    if MARKET_USD.name not in header:
        return MARKETS
    if "value" in header:
        problems.append(f"markets.csv: has both value and {MARKET_USD.name}; give one: "
                        f"{MARKET_USD.name} (revenue per H100e-hour, in USD) or value (an abstract weight per TPP)")
        return None
    return MARKETS_USD


def _separator_problem(spec: TableSpec, header: list[str]) -> str | None:
    """A problem line when a one-column header holds semicolons or tabs: a CSV exported with
    another separator (as some locales' spreadsheets do), not a header of one odd name."""
    if len(header) != 1 or not (";" in header[0] or "\t" in header[0]):
        return None
    separator = "';'" if ";" in header[0] else "tabs"
    return (f"{spec.file}: looks separated by {separator} (its header is one column: {header[0][:60]!r}); "
            "fleetopt reads comma-separated CSV; re-export with commas")


def _check_header(spec: TableSpec, header: list[str], problems: list[str], notes: list[str]) -> bool:
    """Sort the header's names: known, near misses (problems), extra (one note). False when a
    name appears twice: then no column can be read by its name."""
    names = {c.name for c in spec.columns}
    dup = sorted({h for h in header if h.strip() and header.count(h) > 1})
    if dup:
        problems.append(f"{spec.file}: column(s) {', '.join(map(repr, dup))} appear more than once "
                        "in the header; each column must appear once")
    absent = [c for c in spec.columns if c.name not in header]
    meant = absent + [MARKET_USD] if spec is MARKETS else absent   # usd_per_gpu_hour means dollars
    guessed: set[str] = set()
    extra = [f"{i + 1} (no name)" for i, h in enumerate(header) if not h.strip()]
    for name in dict.fromkeys(h for h in header if h.strip() and h not in names):
        guess = near_miss(name, meant)
        if guess is None:
            extra.append(name)
            continue
        guessed.add(guess)
        problems.append(f"{spec.file}: column {name!r} is not a fleetopt column; did you mean "
                        f"{guess}? (column names are exact: lower case, no spaces)")
    if extra:
        notes.append(f"{spec.file}: column{'s' * (len(extra) > 1)} {', '.join(extra)} "
                     f"{'are' if len(extra) > 1 else 'is'} not used by fleetopt (ignored)")
    missing = [c.name for c in absent if c.required and c.name not in guessed]
    if missing:
        problems.append(f"{spec.file}: missing column(s) {', '.join(missing)}; required columns "
                        f"are {', '.join(c.name for c in spec.columns if c.required)}")
    return not dup


NEAR_RATIO = 0.8      # difflib similarity from which a name counts as a misspelling
MIN_AFFIX = 3         # shortest name that counts as an abbreviation (prefix or suffix)


def near_miss(name: str, columns: list[Column]) -> str | None:
    """The column ``name`` most likely means, or None when it is just an extra column.

    On the name lower-cased, trimmed, with runs of other characters as ``_``, it is a near miss
    of a column when it equals the column's name or one of its aliases ("Power MW", "latitude",
    "domestic_only"), is an abbreviation of it: a prefix or suffix at a ``_`` boundary, at least
    MIN_AFFIX characters long and shorter than the column's name ("capex" ~ capex_usd, "demand"
    ~ demand_tpp; a longer name such as "metro_name" is an extra column of its own), has its
    letters in another order ("teir"), or is at least NEAR_RATIO similar (difflib) to it
    ("energy_usd_per_mw"). The best match wins.
    """
    key = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    if not key:
        return None
    best, best_score = None, 0.0
    for col in columns:
        score = _nearness(key, col)
        if score > best_score:
            best, best_score = col.name, score
    return best


def _nearness(key: str, col: Column) -> float:
    """1 for an equal name or alias, 0.9 for an abbreviation or transposed letters, else the
    difflib ratio if close."""
    if key == col.name or key in col.aliases:
        return 1.0
    if len(key) >= MIN_AFFIX and sorted(key) == sorted(col.name):
        return 0.9
    name = col.name
    if MIN_AFFIX <= len(key) < len(name) and (name.startswith(key + "_") or name.endswith("_" + key)):
        return 0.9
    ratio = difflib.SequenceMatcher(None, key, col.name).ratio()
    return ratio if ratio >= NEAR_RATIO else 0.0


def _row_labels(raw: pd.DataFrame, spec: TableSpec) -> pd.Series:
    """How to name a row in a message: its id(s), or its line number when the id is blank."""
    ids = [raw[c].astype(str).str.strip() for c in spec.ids if c in raw.columns]
    label = ids[0] if len(ids) == 1 else ids[0].str.cat(ids[1:], sep="/") if ids else None
    lines = pd.Series([f"line {i + 2}" for i in range(len(raw))], index=raw.index)
    if label is None:
        return lines
    return label.where(label.str.strip("/") != "", lines)


def _convert(file: str, col: Column, text: pd.Series | None, labels: pd.Series,
             problems: list[str], known: set[str], n: int, notes: list[str]) -> pd.Series:
    """Convert one text column to its kind, reporting blanks, bad numbers and out-of-range values.

    Country codes are case-insensitive: one written in lower or mixed case is read in upper case
    and named in ``notes`` (used, never silently)."""
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
        recased = ~bad & (codes != text)
        if recased.any():
            notes.append(f"{file}: column {col.name} has country code(s) not in upper case, read as "
                         f"{_ids(labels[recased], text[recased] + ' -> ' + codes[recased])}")
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
    outside = np.isfinite(values) & _outside(values, col)
    if outside.any():
        problems.append(f"{file}: column {col.name} must be {range_text(col)} (the range fleetopt "
                        f"solves exactly, see README 'Columns and value ranges'); rows "
                        f"{_ids(labels[outside], text[outside])}")
    if col.default is not None:
        values = values.where(~blank, float(col.default))
    return values


def _outside(values: pd.Series, col: Column) -> pd.Series:
    """Values outside the column's range (a value of 0 is in range whenever min <= 0)."""
    low = values < col.min if col.min is not None else False
    high = values > col.max if col.max is not None else False
    tiny = ((values != 0) | col.positive) & (values.abs() < col.min_positive) if col.min_positive else False
    return pd.Series(low | high | tiny, index=values.index)


def range_text(col: Column) -> str:
    """'between 1 and 1e8', '0 or between 1e-6 and 1e6', '>= 0' ... for messages."""
    low = col.min_positive if col.min_positive else col.min
    if low is not None and col.max is not None:
        text = f"between {short_number(low)} and {short_number(col.max)}"
    else:
        text = f">= {short_number(low)}" if low is not None else f"<= {short_number(col.max)}"
    return f"0 or {text}" if col.min_positive and not col.positive else text


def short_number(v: float) -> str:
    """1e5, 1e-6, 0.1, 90: powers of ten beyond 1e3 either way as exponents, others as %g."""
    if v != 0 and not 1e-3 <= abs(v) < 1e4:
        mantissa, exponent = f"{v:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return f"{v:g}"


MAX_VALUE_RATIO = 1e6
"""Largest ratio between the positive values of markets with demand: beyond it, HiGHS cannot
rank the cheapest market against the dearest within its tolerances (see the README)."""


def _check_value_ratio(markets: pd.DataFrame, labels: pd.Series, problems: list[str], column: str) -> None:
    """Positive values of markets with demand lie within MAX_VALUE_RATIO of each other
    (``column``: the one the values were given in)."""
    value = markets[column].where((markets[column] > 0) & (markets["demand_tpp"] > 0))
    if value.count() < 2 or value.max() <= MAX_VALUE_RATIO * value.min():
        return
    hi, lo = value.idxmax(), value.idxmin()
    problems.append(f"markets.csv: column {column} spans a ratio above {short_number(MAX_VALUE_RATIO)} "
                    f"(highest {value[hi]:g} at {labels[hi]}, lowest {value[lo]:g} at {labels[lo]}); "
                    f"positive values of markets with demand must lie within a ratio of "
                    f"{short_number(MAX_VALUE_RATIO)} of each other, the range fleetopt solves exactly: "
                    "rescale them, or set the lowest to 0")


def _check_duplicates(spec: TableSpec, table: pd.DataFrame, labels: pd.Series,
                      problems: list[str]) -> None:
    dup = table.duplicated(list(spec.ids), keep=False) & (labels.str.strip("/") != "")
    if dup.any():
        what = " and ".join(spec.ids)
        problems.append(f"{spec.file}: duplicate {what} {_ids(labels[dup].drop_duplicates())}; "
                        f"each {what} must appear once")


def _check_reference_ids(tables: dict[str, pd.DataFrame | None], problems: list[str]) -> None:
    """Ids of installed.csv and links.csv that must exist in sites.csv, chips.csv, markets.csv
    (checked once per folder, however many periods it has)."""
    installed, links = tables["installed.csv"], tables["links.csv"]
    sites, chips, markets = (tables[f].index for f in ("sites.csv", "chips.csv", "markets.csv"))
    if installed is not None:
        _known_ids("installed.csv", "site_id", installed["site_id"], sites, problems)
        _known_ids("installed.csv", "sku", installed["sku"], chips, problems)
    if links is not None:
        _known_ids("links.csv", "market_id", links["market_id"], markets, problems)
        _known_ids("links.csv", "site_id", links["site_id"], sites, problems)


def _check_references(s: Scenario, problems: list[str], capacity_source: str = "sites.csv") -> None:
    """Cross-file checks under the scenario's capacity and policy: an installed base that must
    fit its sites, and none at Tier-3 sites when the policy bans them (ids: read_folder)."""
    inst = s.installed_matrix()
    power = inst.to_numpy() @ s.chips["power_kw"].to_numpy() / 1000.0
    racks = inst.to_numpy() @ (1.0 / s.chips["units_per_rack"].to_numpy())
    for what, used, limit in (("power_mw", power, s.sites["power_mw"]),
                              ("racks", racks, s.sites["racks"])):
        over = used > limit.to_numpy() * (1 + TOL) + TOL
        if over.any():
            ids = s.sites.index[over]
            detail = [f"{u:.6g} > {lim:.6g}" for u, lim in zip(used[over], limit[over])]
            problems.append(f"installed.csv: the installed fleet already exceeds {capacity_source} {what} "
                            f"at sites {_ids(pd.Series(ids), pd.Series(detail))}; "
                            "lower installed units or raise the site's limit")
    if s.policy.ban_tier3:
        tier3 = s.sites.index[s.sites["tier"] == 3]
        bad = s.installed.loc[s.installed["site_id"].isin(tier3) & (s.installed["units"] > 0)]
        if len(bad):
            problems.append(f"installed.csv: installed units at Tier-3 site(s) "
                            f"{_ids(bad['site_id'].drop_duplicates())}; policy {s.policy.name} "
                            "bans all compute in Tier-3 countries: remove them or change the policy")


ID_SOURCES = {"site_id": "sites.csv", "sku": "chips.csv", "market_id": "markets.csv", "period": PERIODS_FILE}


def _known_ids(file: str, column: str, values: pd.Series, known: pd.Index,
               problems: list[str]) -> None:
    bad = values[~values.isin(known)].drop_duplicates()
    if len(bad):
        source = ID_SOURCES[column]
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
