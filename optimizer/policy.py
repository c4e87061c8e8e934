"""Export-control policies: TOML presets and files, parsed into an immutable :class:`Policy`.

A policy file has the keys below; a missing key means that limit is off::

    name, description, home_country,
    min_home_share, min_tier1_share, max_tier2_country_share,   # fractions in [0, 1]
    tier2_country_cap_tpp,                                        # TPP, every Tier-2 country
    ban_tier3,                                                    # true: nothing in Tier 3
    [tiers]  ISO3 = 1 | 2 | 3    (overrides datasets/countries.csv)
    [caps]   ISO3 = TPP          (overrides tier2_country_cap_tpp for that country)
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .datafiles import policies_dir
from .errors import InputError

DEFAULT_POLICY = "aidr-2025"
SHARE_KEYS = ("min_home_share", "min_tier1_share", "max_tier2_country_share")
SCALAR_KEYS = ("name", "description", "home_country", *SHARE_KEYS, "tier2_country_cap_tpp",
               "ban_tier3")
TABLE_KEYS = ("tiers", "caps")
ALLOWED_KEYS = SCALAR_KEYS + TABLE_KEYS


@dataclass(frozen=True)
class Policy:
    """The export limits one plan must respect. ``None`` means the limit is off."""

    name: str
    source: str
    description: str = ""
    home_country: str | None = None
    min_home_share: float | None = None
    min_tier1_share: float | None = None
    max_tier2_country_share: float | None = None
    tier2_country_cap_tpp: float | None = None
    ban_tier3: bool = False
    tiers: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    caps: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def cap_for(self, iso3: str) -> float | None:
        """TPP cap of a Tier-2 country: its own entry in ``caps``, else the default cap."""
        return self.caps.get(iso3, self.tier2_country_cap_tpp)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for summary.json), tables included."""
        out = {k: getattr(self, k) for k in ("name", "source", "description", *SCALAR_KEYS[2:])}
        out["tiers"] = dict(self.tiers)
        out["caps"] = dict(self.caps)
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


def load_policy(spec: str | Path) -> Policy:
    """Load a policy from a preset name or a TOML path and check every key and value."""
    path = resolve_policy_path(spec)
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    return parse_policy(raw, source=str(path))


def parse_policy(raw: Mapping[str, Any], source: str) -> Policy:
    """Check a parsed TOML mapping and build a Policy; every problem gets one line."""
    problems: list[str] = []
    unknown = sorted(set(raw) - set(ALLOWED_KEYS))
    if unknown:
        problems.append(f"{source}: unknown key(s) {', '.join(unknown)}; "
                        f"allowed keys are {', '.join(ALLOWED_KEYS)}")
    for key in SHARE_KEYS:
        if key in raw and not _is_fraction(raw[key]):
            problems.append(f"{source}: {key} = {raw[key]!r} must be a number in [0, 1]")
    cap = raw.get("tier2_country_cap_tpp")
    if cap is not None and not _is_nonneg(cap):
        problems.append(f"{source}: tier2_country_cap_tpp = {cap!r} must be a number >= 0")
    if "ban_tier3" in raw and not isinstance(raw["ban_tier3"], bool):
        problems.append(f"{source}: ban_tier3 must be true or false, got {raw['ban_tier3']!r}")
    home = raw.get("home_country")
    if home is not None and not (isinstance(home, str) and len(home) == 3):
        problems.append(f"{source}: home_country must be an ISO 3166-1 alpha-3 code, got {home!r}")
    tiers = _table(raw, "tiers", source, problems)
    caps = _table(raw, "caps", source, problems)
    bad_tiers = sorted(k for k, v in tiers.items() if v not in (1, 2, 3) or isinstance(v, bool))
    if bad_tiers:
        problems.append(f"{source}: [tiers] values must be 1, 2 or 3; bad for {', '.join(bad_tiers)}")
    bad_caps = sorted(k for k, v in caps.items() if not _is_nonneg(v))
    if bad_caps:
        problems.append(f"{source}: [caps] values must be numbers >= 0; bad for {', '.join(bad_caps)}")
    if problems:
        raise InputError(problems)
    return Policy(
        name=str(raw.get("name", Path(source).stem)), source=source,
        description=str(raw.get("description", "")),
        home_country=home.upper() if home else None,
        min_home_share=_opt_float(raw.get("min_home_share")),
        min_tier1_share=_opt_float(raw.get("min_tier1_share")),
        max_tier2_country_share=_opt_float(raw.get("max_tier2_country_share")),
        tier2_country_cap_tpp=_opt_float(cap),
        ban_tier3=bool(raw.get("ban_tier3", False)),
        tiers=MappingProxyType({k.upper(): int(v) for k, v in tiers.items()}),
        caps=MappingProxyType({k.upper(): float(v) for k, v in caps.items()}),
    )


def _table(raw: Mapping[str, Any], key: str, source: str, problems: list[str]) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"{source}: [{key}] must be a table of ISO3 = value")
        return {}
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_fraction(v: Any) -> bool:
    return _is_number(v) and 0.0 <= v <= 1.0


def _is_nonneg(v: Any) -> bool:
    return _is_number(v) and v >= 0


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
