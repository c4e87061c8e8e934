"""Sweep variants: the parameters a variant may set, grids of them, and a variant applied to the
base scenario (an edited policy that records its edits, scaled demand and inventory).

A variant is a dict of parameters (see :data:`PARAMETERS`). Variants come from a grid (TOML: the
product of listed values; CSV: one variant per row) and shorthands; its id is derived from its
parameters, so a rerun finds the variants already done.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from optimizer.errors import InputError
from optimizer.inputs.countries import dataset_countries, place_sites, policy_problems, resolve_countries, unknown_codes
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.timeline import Timeline, _by_period
from optimizer.policy.policy import Policy, load_policy

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


def snapshots(base: Scenario | Timeline) -> Sequence[Scenario]:
    """The snapshot scenarios a sweep's parameters apply to: the scenario, or every period's."""
    return [p.scenario for p in base.periods] if isinstance(base, Timeline) else [base]


def check_targets(keys: set[str], base: Scenario | Timeline) -> None:
    """Refuse (exit 2, before any work) a multiplier that names no sku (case-sensitive, as in
    chips.csv) or no country with a market (any case), and a cap on a territory that counts as
    another country (its cap would never apply), unless the sweep also moves that territory's
    tier (which can make it a country of its own). A timeline is checked in every period (each
    problem once)."""
    problems = list(dict.fromkeys(line for s in snapshots(base) for line in _target_problems(keys, s)))
    if problems:
        raise InputError(problems)


def _target_problems(keys: set[str], base: Scenario) -> list[str]:
    """The problems :func:`check_targets` refuses, on one snapshot."""
    skus, countries = sorted(map(str, base.chips.index)), sorted(set(base.markets["country"]))
    moved = {k.partition(".")[2].upper() for k in keys if k.startswith("tier.")}
    problems = []
    for key in sorted(keys):
        head, _, tail = key.partition(".")
        code = tail.upper()
        if head == "inventory_multiplier" and tail and tail not in skus:
            problems.append(f"sweep: {key}: no sku {tail} in chips.csv (sku names are case-sensitive); "
                            f"skus are {', '.join(skus)}")
        elif head == "demand_multiplier" and tail and code not in countries:
            problems.append(f"sweep: {key}: no market in {code} (markets.csv); countries with markets "
                            f"are {', '.join(countries)}")
        elif head == "cap" and code not in moved and base.counts_as.get(code, code) != code:
            owner = base.counts_as[code]
            problems.append(f"sweep: {key}: {code} counts as {owner} for policy purposes, so a cap on "
                            f"{code} would never apply (caps are per country): write cap.{owner}")
    return problems


def grid_variants(grid: Path | None, vary: list[str], policies: list[str], each_tier2: bool,
                  base: Scenario | Timeline) -> list[Variant]:
    """All variants: the grid file's, then the shorthands' (each combined as a product). On a
    timeline, ``each_tier2`` moves each country that is Tier 2 in any period."""
    axes: dict[str, list] = {}
    rows: list[dict] = []
    given: dict[str, str] = {}          # each parameter (case-insensitive codes) -> where it was given
    if grid is not None:
        if not grid.is_file():
            raise InputError(f"--grid {grid}: file not found")
        text = _grid_text(grid)
        if grid.suffix == ".csv":
            header = next(csv.reader(io.StringIO(text)), [])
            twice = sorted({k for k in header if header.count(k) > 1})
            if twice:
                raise InputError(f"--grid {grid}: column {', '.join(twice)} given twice, and only one could count; "
                                 "give each parameter one column")
            rows = [{k: _scalar(v) for k, v in r.items() if v != ""} for r in csv.DictReader(io.StringIO(text))]
            if not rows:
                raise InputError(f"--grid {grid}: no variants (a CSV grid is a header and one row per variant)")
            check_keys({k for r in rows for k in r}, str(grid))
            _claim(given, {k for r in rows for k in r}, f"--grid {grid.name}")
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
            _claim(given, raw, f"--grid {grid.name}")
            axes.update({k: parse_values(k, v) for k, v in raw.items()})
    for item in vary:
        key, sep, value = item.partition("=")
        if not sep or not value.strip() or "" in (v.strip() for v in value.split(",")):
            raise InputError(f"--vary {item!r}: expected KEY=START:STOP:STEP or KEY=V1,V2 with no empty "
                             "value (write none to lift a limit)")
        check_keys([key], "--vary")
        _claim(given, [key], f"--vary {item}")
        axes[key] = parse_values(key, value) if ":" in value else [_scalar(v) for v in value.split(",")]
    if policies:
        _claim(given, ["policy"], "--policies")
        axes["policy"] = policies
    moved = sorted(k for k in given if k.startswith("tier."))
    if each_tier2 and moved:
        raise InputError(f"sweep: each_tier2_country_to_tier1 moves every Tier-2 country to Tier 1 by itself, and "
                         f"{', '.join(moved)} is given too ({given[moved[0]]}); leave out one or the other")
    product = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())] if axes else [{}]
    if rows:
        product = [{**r, **p} for r in rows for p in product]
    if each_tier2:
        countries = sorted({k for s in snapshots(base) for k in s.sites.loc[s.sites["tier"] == 2, "policy_country"]})
        product = [p for p in product] + [{**p, f"tier.{k}": 1} for p in product for k in countries]
    check_targets({k for p in product for k in p}, base)
    check_values(product)
    check_scaled(product, base)
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


def canonical_key(key: str) -> str:
    """A parameter as compared for repeats: the country code after tier., cap. and
    demand_multiplier. in upper case (codes are case-insensitive; sku names are not)."""
    head, dot, tail = key.partition(".")
    return f"{head}.{tail.upper()}" if dot and head in ("tier", "cap", "demand_multiplier") else key


def _claim(given: dict[str, str], keys: Iterable[str], where: str) -> None:
    """Record that ``where`` gives ``keys``; a parameter given twice (two --vary, a grid and a
    --vary, --policies and a policy column) would keep only one source's values: refused."""
    for key in keys:
        k = canonical_key(key)
        if k in given:
            raise InputError(f"sweep: {key} is given twice ({given[k]} and {where}), and only one could "
                             "count; give each parameter once, with all its values")
        given[k] = where


def check_scaled(product: list[dict[str, Any]], base: Scenario | Timeline) -> None:
    """Refuse (exit 2) a demand or inventory multiplier that is negative, or a variant whose
    multipliers together (``demand_multiplier`` and ``demand_multiplier.ISO3`` multiply) scale a
    value out of its column's range (the range fleetopt solves exactly; a file holding the scaled
    value would be refused the same way), in any period."""
    from optimizer.inputs.tables import DEMAND_TPP, INVENTORY
    problems = []
    scaling = [{k: v for k, v in p.items() if k.partition(".")[0] in ("demand_multiplier", "inventory_multiplier")}
               for p in product]
    for key, value in dict.fromkeys((k, v) for p in scaling for k, v in p.items()):
        if not math.isfinite(value) or value < 0:
            problems.append(f"sweep: {key} = {value!r}: a multiplier is a finite number >= 0")
    if problems:
        raise InputError(problems)
    for params in {json.dumps(p, sort_keys=True): p for p in scaling if p}.values():
        for s in snapshots(base):
            edited = apply_scenario_edits(s, params)
            for col, values in ((DEMAND_TPP, edited.markets["demand_tpp"]), (INVENTORY, edited.chips["inventory"])):
                outside = values[(values > col.max) | ((values > 0) & (values < (col.min_positive or 0)))]
                if len(outside):
                    span = f"0, or {col.min_positive:g} to {col.max:g}" if col.min_positive else f"{col.min:g} to {col.max:g}"
                    given = ", ".join(f"{k} = {v!r}" for k, v in sorted(params.items()))
                    problems.append(f"sweep: {given}: scales {col.name} out of its range ({span}: what fleetopt "
                                    f"solves exactly) for {', '.join(map(str, outside.index[:5]))}")
    if problems:
        raise InputError(list(dict.fromkeys(problems)))


def check_values(product: list[dict[str, Any]]) -> None:
    """Refuse (exit 2, before any work) a value its parameter cannot take, which would otherwise
    make its variants fail while the sweep exits 0: a cap or multiplier that is not a number
    (only the policy fields take ``none``, which lifts the limit), a tier that is not 1, 2 or 3."""
    problems = []
    for key, value in dict.fromkeys((k, v) for p in product for k, v in p.items()):
        head = key.partition(".")[0]
        if head == "tier" and value not in (1, 2, 3):
            problems.append(f"sweep: {key} = {value!r}: a tier is 1, 2 or 3")
        elif head in ("cap", "demand_multiplier", "inventory_multiplier") or (
                key in POLICY_FIELDS and value not in (None, "none", "")):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                lift = " (none lifts a policy field, not a cap: leave the cap out of the variant)" \
                    if value == "none" else ""
                problems.append(f"sweep: {key} = {value!r}: must be a number{lift}")
    if problems:
        raise InputError(problems)


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
    a tier move goes into its ``[tiers]`` (the top of tier precedence, optimizer.inputs.countries), so the
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
                               policy=policy, notes=list(dict.fromkeys(notes)), variant=dict(params),
                               load_timings={})      # a variant is not read from disk: no load time of its own


def apply_timeline_variant(tl: Timeline, params: dict[str, Any]) -> Timeline:
    """The timeline with the variant applied to every period (sweep parameters apply to every
    period, as ``--policy`` does), each period's scenario through :func:`apply_variant`:

    * ``policy`` replaces every period's policy (periods.csv ``policy`` is overridden: a note);
    * policy fields, ``tier.ISO3`` and ``cap.ISO3`` edit each period's own policy;
    * ``demand_multiplier`` scales each period's demand (demand.csv rows and markets.csv alike);
    * ``inventory_multiplier`` scales the units available by each period, i.e. chips.csv
      inventory and every delivery alike (availability stays cumulative).

    Each period's plan records the parameters (its policy record's ``sweep_parameters``), so
    ``fleetopt check`` applies them period by period. A problem found in some periods only
    names them; the notes are the timeline's, with each period's as the variant left them."""
    problems: dict[str, list[str]] = {}
    periods = []
    for p in tl.periods:
        try:
            periods.append(dataclasses.replace(p, scenario=apply_variant(p.scenario, params)))
        except InputError as exc:
            for line in exc.problems:
                problems.setdefault(line, []).append(p.id)
    if problems:
        raise InputError(_by_period(problems, tl.ids))
    return dataclasses.replace(tl, periods=tuple(periods), notes=_timeline_notes(tl, periods, params))


def _timeline_notes(tl: Timeline, periods: list, params: dict[str, Any]) -> list[str]:
    """A variant timeline's notes: the base timeline's notes that are not about its periods'
    scenarios, a note when the variant's policy overrides periods.csv, then each note of the
    variant's periods (prefixed by the periods it holds in, when not all)."""
    def per_period(items) -> list[str]:
        lines: dict[str, list[str]] = {}
        for p in items:
            for line in p.scenario.notes:
                lines.setdefault(line, []).append(p.id)
        return _by_period(lines, tl.ids)

    stale = set(per_period(tl.periods))
    named = sorted({p.policy_source for p in tl.periods})
    override = ([f"sweep variant policy={params['policy']} applies to every period; the periods' own "
                 f"policies ({', '.join(named)}) are overridden"] if "policy" in params else [])
    return list(dict.fromkeys([*(n for n in tl.notes if n not in stale), *override, *per_period(periods)]))


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


def result_path(out_dir: Path, vid: str) -> Path:
    """Where a variant's result.json lives in a sweep folder."""
    return out_dir / "variants" / vid / "result.json"
