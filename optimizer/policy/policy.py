"""Export-control policies: TOML presets and files, parsed into an immutable, validated :class:`Policy`.

A policy file has the keys below; a missing key means that limit is off, except ``ban_tier3``,
which is on unless the file says ``ban_tier3 = false``::

    name, description, home_country,
    min_home_share, min_tier1_share, max_tier2_country_share,   # fractions in [0, 1]
    tier2_country_cap_tpp,                                        # TPP, every Tier-2 country
    ban_tier3,                                                    # default true: nothing in Tier 3
    effective, superseded,                    # dates "YYYY-MM-DD": when the rule took effect, ended
    licence_required = ["ISO3", ...]          # destinations needing a licence (a flag, not a limit)
    [tiers]  ISO3 = 1 | 2 | 3    (the top layer of tier precedence, see optimizer.inputs.countries)
    [caps]   ISO3 = TPP          (overrides tier2_country_cap_tpp for that Tier-2 country)
    [groups.NAME] countries = ["ISO3", ...], min_share = 0.2   (at least this share in the group)

Every check of a policy's own values lives in :func:`field_problems`, which both
:func:`parse_policy` (files) and ``Policy.__post_init__`` (objects built in Python, including
``dataclasses.replace`` edits) run, so a policy is valid however it was made. Checks that need the
country tables (unknown codes, a cap on a country that is not Tier 2, the home country's tier)
are in :mod:`optimizer.inputs.countries`.
"""
from __future__ import annotations

import datetime
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from optimizer.datafiles import policies_dir
from optimizer.errors import InputError

DEFAULT_POLICY = "aidr-2025"
SHARE_KEYS = ("min_home_share", "min_tier1_share", "max_tier2_country_share")
DATE_KEYS = ("effective", "superseded")
SCALAR_KEYS = ("name", "description", "home_country", *SHARE_KEYS, "tier2_country_cap_tpp",
               "ban_tier3", *DATE_KEYS)
TABLE_KEYS = ("tiers", "caps")
GROUP_KEYS = ("countries", "min_share")
LIST_KEYS = ("licence_required",)
ALLOWED_KEYS = SCALAR_KEYS + TABLE_KEYS + ("groups",) + LIST_KEYS
VALUE_KEYS = SCALAR_KEYS[2:] + TABLE_KEYS + ("groups",) + LIST_KEYS   # what a policy says (name and description aside)
TIERS = (1, 2, 3)
GROUP_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Policy:
    """The export limits one plan must respect. ``None`` means the limit is off.

    Built from a file by :func:`load_policy`, or in Python; either way every value is checked
    (``InputError``) and country codes are upper-cased. ``loaded`` holds the values as read from
    ``source`` (set by :func:`parse_policy`); a copy edited with ``dataclasses.replace`` keeps it,
    so :meth:`edits` can say what changed since.
    """

    name: str
    source: str
    description: str = ""
    home_country: str | None = None
    min_home_share: float | None = None
    min_tier1_share: float | None = None
    max_tier2_country_share: float | None = None
    tier2_country_cap_tpp: float | None = None
    ban_tier3: bool = True
    tiers: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    caps: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    effective: str | None = None            # ISO date the rule took effect (metadata: no limit)
    superseded: str | None = None           # ISO date a later rule or notice replaced it
    licence_required: tuple[str, ...] = ()  # codes flagged "licence required" in the summary
    loaded: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        given = {k: getattr(self, k) for k in VALUE_KEYS}
        problems = field_problems(given, self.source or self.name)
        if problems:
            raise InputError(problems)
        for key, value in _normalised(given).items():
            object.__setattr__(self, key, value)

    def values(self) -> dict[str, Any]:
        """What the policy says: every limit and the tables (plain dicts and lists)."""
        return _plain({k: getattr(self, k) for k in VALUE_KEYS})

    def cap_for(self, iso3: str) -> float | None:
        """TPP cap of a Tier-2 country: its own entry in ``caps``, else the default cap."""
        return self.caps.get(iso3, self.tier2_country_cap_tpp)

    def edits(self) -> dict[str, dict[str, Any]]:
        """Values that differ from those read from ``source``: key -> {from, to} (empty if none)."""
        if self.loaded is None:
            return {}
        now = self.values()
        return {k: {"from": self.loaded.get(k), "to": now[k]} for k in VALUE_KEYS
                if self.loaded.get(k) != now[k]}

    @property
    def label(self) -> str:
        """The name, saying so when the policy was edited after loading."""
        changed = self.edits()
        return f"{self.name} (edited: {', '.join(changed)})" if changed else self.name

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for summary.json): name (with its edits), source, every value, both tables."""
        out = {"name": self.label, "source": self.source, "description": self.description,
               **self.values()}
        changed = self.edits()
        if changed:
            out["edited"] = changed
        return out


def preset_names() -> list[str]:
    """Names of the shipped presets in datasets/policies/."""
    return sorted(p.stem for p in policies_dir().glob("*.toml"))


def resolve_policy_path(spec: str | Path) -> Path:
    """A preset name or a file path -> the TOML file; raises InputError naming the presets."""
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise InputError(f"policy: file {path} not found; give a preset name "
                             f"({', '.join(preset_names())}) or an existing .toml file")
        return path
    preset = policies_dir() / f"{spec}.toml"
    if not preset.is_file():
        raise InputError(f"policy: unknown preset '{spec}'; presets are "
                         f"{', '.join(preset_names())}, or give a path to a .toml file")
    return preset


def read_policy_file(spec: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML of a preset or file, and its source path; InputError if unreadable."""
    path = resolve_policy_path(spec)
    try:
        return tomllib.loads(path.read_text()), str(path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def load_policy(spec: str | Path) -> Policy:
    """Load a policy from a preset name or a TOML path and check every key and value."""
    raw, source = read_policy_file(spec)
    return parse_policy(raw, source=source)


def parse_policy(raw: Mapping[str, Any], source: str) -> Policy:
    """Check a parsed TOML mapping and build a Policy; every problem gets one line."""
    problems: list[str] = []
    unknown = sorted(set(raw) - set(ALLOWED_KEYS))
    if unknown:
        problems.append(f"{source}: unknown key(s) {', '.join(unknown)}; "
                        f"allowed keys are {', '.join(ALLOWED_KEYS)}")
    problems += field_problems(raw, source)
    if problems:
        raise InputError(problems)
    values = _normalised(raw)
    return Policy(name=str(raw.get("name", Path(source).stem)), source=source,
                  description=str(raw.get("description", "")),
                  loaded=MappingProxyType(_plain(values)), **values)


def field_problems(values: Mapping[str, Any], source: str) -> list[str]:
    """Every problem with a policy's values (one line each); empty when they are valid.

    Shares are fractions in [0, 1], caps numbers >= 0, ``ban_tier3`` a boolean, codes three
    letters (any case), tiers exactly 1, 2 or 3; ``min_home_share`` needs a ``home_country``.
    """
    problems: list[str] = []
    for key in SHARE_KEYS:
        if values.get(key) is not None and not _is_fraction(values[key]):
            problems.append(f"{source}: {key} = {values[key]!r} must be a number in [0, 1]")
    cap = values.get("tier2_country_cap_tpp")
    if cap is not None and not _is_nonneg(cap):
        problems.append(f"{source}: tier2_country_cap_tpp = {cap!r} must be a number >= 0")
    if not isinstance(values.get("ban_tier3", True), bool):
        problems.append(f"{source}: ban_tier3 must be true or false, got {values['ban_tier3']!r}")
    home = values.get("home_country")
    if home is not None and not _is_code(home):
        problems.append(f"{source}: home_country must be an ISO 3166-1 alpha-3 code, got {home!r}")
    if values.get("min_home_share") is not None and home is None:
        problems.append(f"{source}: min_home_share is set but home_country is not; "
                        "add home_country = \"ISO3\" or remove min_home_share")
    for key, ok, allowed in (("tiers", _is_tier, "1, 2 or 3"), ("caps", _is_nonneg, "numbers >= 0")):
        table = values.get(key)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            problems.append(f"{source}: [{key}] must be a table of ISO3 = value")
            continue
        bad_codes = sorted(str(k) for k in table if not _is_code(k))
        if bad_codes:
            problems.append(f"{source}: [{key}] keys must be ISO 3166-1 alpha-3 codes; "
                            f"bad: {', '.join(bad_codes)}")
        bad = sorted(f"{k} ({v!r})" for k, v in table.items() if not ok(v))
        if bad:
            problems.append(f"{source}: [{key}] values must be {allowed}; bad for {', '.join(bad)}")
        twice = _repeated_codes(table)
        if twice:
            problems.append(f"{source}: [{key}] lists {', '.join(twice)} more than once "
                            "(codes are case-insensitive)")
    problems += date_problems(values, source)
    return problems + group_problems(values.get("groups"), source) + licence_problems(values.get("licence_required"), source)


def date_problems(values: Mapping[str, Any], source: str) -> list[str]:
    """``effective`` and ``superseded`` are dates ("YYYY-MM-DD" or a TOML date), the second
    after the first."""
    problems, dates = [], {}
    for key in DATE_KEYS:
        value = values.get(key)
        if value is None:
            continue
        day = _date(value)
        if day is None:
            problems.append(f"{source}: {key} = {value!r} must be a date \"YYYY-MM-DD\" (e.g. \"2025-05-13\")")
        dates[key] = day
    start, end = dates.get("effective"), dates.get("superseded")
    if start and end and end <= start:
        problems.append(f"{source}: superseded ({end}) must come after effective ({start})")
    return problems


def licence_problems(codes: Any, source: str) -> list[str]:
    """``licence_required`` is a list (possibly empty) of distinct ISO3 codes."""
    if codes is None:
        return []
    if not isinstance(codes, (list, tuple)):
        return [f"{source}: licence_required must be a list of ISO3 codes, e.g. [\"ARE\", \"SAU\"]; got {codes!r}"]
    return code_list_problems(codes, f"{source}: licence_required")


def code_list_problems(codes: Iterable[Any], where: str) -> list[str]:
    """A list of codes that are not ISO3 codes, or that repeat one (case-insensitively)."""
    problems = []
    bad = sorted(repr(k) for k in codes if not _is_code(k))
    if bad:
        problems.append(f"{where} must be ISO 3166-1 alpha-3 codes; bad: {', '.join(bad)}")
    twice = _repeated_codes(codes)
    if twice:
        problems.append(f"{where} lists {', '.join(twice)} more than once (codes are case-insensitive)")
    return problems


def _repeated_codes(codes: Iterable[Any]) -> list[str]:
    """Codes listed more than once, case-insensitively (``sau`` and ``SAU`` are one code)."""
    upper = [str(k).upper() for k in codes]
    return sorted({k for k in upper if upper.count(k) > 1})


def group_problems(groups: Any, source: str) -> list[str]:
    """Problems with ``[groups]``: each ``[groups.NAME]`` (letters, digits, _) holds exactly a
    non-empty ``countries`` list of distinct ISO3 codes and a ``min_share`` in [0, 1]."""
    if groups is None:
        return []
    fix = 'write [groups.EU] countries = ["DEU", "FRA"], min_share = 0.2'
    if not isinstance(groups, Mapping):
        return [f"{source}: [groups] must hold one table per group; {fix}"]
    problems = []
    for name, group in groups.items():
        where = f"{source}: [groups.{name}]"
        if not (isinstance(name, str) and GROUP_NAME.fullmatch(name)):
            problems.append(f"{where}: a group name is letters, digits and _ only")
        if not isinstance(group, Mapping):
            problems.append(f"{where} must be a table; {fix}")
            continue
        unknown = sorted(set(group) - set(GROUP_KEYS))
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed keys are "
                            f"{', '.join(GROUP_KEYS)}")
        if "min_share" not in group:
            problems.append(f"{where}: min_share is missing (a number in [0, 1])")
        elif not _is_fraction(group["min_share"]):
            problems.append(f"{where}: min_share = {group['min_share']!r} must be a number in [0, 1]")
        codes = group.get("countries")
        if not isinstance(codes, (list, tuple)) or not codes:
            problems.append(f"{where}: countries must be a non-empty list of ISO3 codes, got {codes!r}")
            continue
        problems += code_list_problems(codes, f"{where}: countries")
    return problems


def policy_codes(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Country codes a policy names, upper-cased, by key (``home_country``, ``[tiers]``,
    ``[caps]``); tolerant of malformed values, so the codes of an invalid policy can be
    checked too."""
    home = values.get("home_country")
    out = {"home_country": [home.upper()] if _is_code(home) else []}
    for key in TABLE_KEYS:
        table = values.get(key)
        out[f"[{key}]"] = sorted({k.upper() for k in table if _is_code(k)}) if isinstance(table, Mapping) else []
    groups = values.get("groups")
    lists = [g.get("countries") for g in groups.values() if isinstance(g, Mapping)] if isinstance(groups, Mapping) else []
    out["[groups]"] = sorted({k.upper() for codes in lists if isinstance(codes, (list, tuple))
                              for k in codes if _is_code(k)})
    flagged = values.get("licence_required")
    out["licence_required"] = sorted({k.upper() for k in flagged if _is_code(k)}) \
        if isinstance(flagged, (list, tuple)) else []
    return out


def recased_codes(values: Mapping[str, Any]) -> list[str]:
    """Where a policy writes a country code in lower or mixed case, which it reads in upper case:
    ``KEY written -> CODE``, one per code, in :func:`policy_codes`'s key order; tolerant of
    malformed values, as that is."""
    written: dict[str, list[str]] = {"home_country": [values.get("home_country")]}
    for key in TABLE_KEYS:
        table = values.get(key)
        written[f"[{key}]"] = list(table) if isinstance(table, Mapping) else []
    groups = values.get("groups")
    written["[groups]"] = [k for g in (groups.values() if isinstance(groups, Mapping) else [])
                           if isinstance(g, Mapping) and isinstance(g.get("countries"), (list, tuple))
                           for k in g["countries"]]
    flagged = values.get("licence_required")
    written["licence_required"] = list(flagged) if isinstance(flagged, (list, tuple)) else []
    return [f"{key} {k} -> {k.upper()}" for key, codes in written.items()
            for k in codes if _is_code(k) and k != k.upper()]


def _normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """Valid values in canonical form: floats, upper-case codes, read-only tables."""
    home = values.get("home_country")
    return {
        "home_country": home.upper() if home else None,
        **{k: _opt_float(values.get(k)) for k in (*SHARE_KEYS, "tier2_country_cap_tpp")},
        "ban_tier3": bool(values.get("ban_tier3", True)),
        "tiers": MappingProxyType({k.upper(): int(v) for k, v in (values.get("tiers") or {}).items()}),
        "caps": MappingProxyType({k.upper(): float(v) for k, v in (values.get("caps") or {}).items()}),
        "groups": MappingProxyType({name: MappingProxyType({"countries": tuple(k.upper() for k in g["countries"]),
                                                            "min_share": float(g["min_share"])})
                                    for name, g in (values.get("groups") or {}).items()}),
        **{k: None if values.get(k) is None else _date(values[k]).isoformat() for k in DATE_KEYS},
        "licence_required": tuple(k.upper() for k in values.get("licence_required") or ()),
    }


def _plain(values: Any) -> Any:
    """Tables as plain dicts and lists, at any depth (JSON-ready, comparable)."""
    if isinstance(values, Mapping):
        return {k: _plain(v) for k, v in values.items()}
    return list(values) if isinstance(values, tuple) else values


def _is_code(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 3 and v.isascii() and v.isalpha()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_tier(v: Any) -> bool:
    return _is_number(v) and v in TIERS


def _is_fraction(v: Any) -> bool:
    return _is_number(v) and 0.0 <= v <= 1.0


def _is_nonneg(v: Any) -> bool:
    return _is_number(v) and v >= 0


def _date(v: Any) -> datetime.date | None:
    """A date from "YYYY-MM-DD" or a TOML date (not a date-time); None when it is neither."""
    if isinstance(v, datetime.datetime):
        return None
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        try:
            return datetime.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
