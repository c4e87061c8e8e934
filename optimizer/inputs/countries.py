"""Country tiers and territories for one scenario under one policy: the one home of tier precedence.

Precedence, lowest first (the same for solve, check and sweep):

1. ``datasets/countries.csv`` (shipped; every ISO 3166-1 code);
2. the scenario's ``countries.csv`` (iso3, tier);
3. the policy's ``[tiers]`` (a policy is the rule, what-ifs included).

A disagreement between 2 and 3 is said in a note. Codes are case-insensitive everywhere.

Territories: the ``sovereign`` column of ``datasets/countries.csv`` names the country a
territory counts as for policy purposes (PRI, GUM, VIR, ASM, MNP, UMI -> USA under 15 CFR 772.1;
HKG -> CHN). Such a territory takes its sovereign's tier, and its compute is the sovereign's in
every share and cap (it is not a country of its own there). An explicit entry for the territory
(layer 2 or 3) with a different tier wins: the territory is then a country of its own, with a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import pandas as pd

from optimizer.datafiles import data_dir
from optimizer.errors import InputError
from optimizer.policy.policy import VALUE_KEYS, Policy
from optimizer.policy.rules import Countries, rule_problems

if TYPE_CHECKING:
    from optimizer.inputs.scenario import Scenario

PRECEDENCE = "datasets/countries.csv < the scenario's countries.csv < the policy's [tiers]"
SCENARIO_TABLE = "the scenario's countries.csv"


@dataclass(frozen=True)
class CountryTable:
    """Effective tiers and what each code counts as, with the notes the resolution produced."""

    tiers: pd.Series                 # iso3 -> tier of every known code
    counts_as: pd.Series             # iso3 -> the code it counts as for policy purposes
    notes: list[str] = field(default_factory=list)

    def territories(self) -> dict[str, str]:
        """Territories that count as another country: territory -> sovereign."""
        folded = self.counts_as[self.counts_as != self.counts_as.index]
        return dict(sorted(folded.items()))


@lru_cache(maxsize=1)
def dataset_countries() -> pd.DataFrame:
    """datasets/countries.csv indexed by iso3: tier (int) and sovereign ('' when none)."""
    table = pd.read_csv(data_dir() / "countries.csv", keep_default_na=False, dtype=str)
    return pd.DataFrame({"tier": table["tier"].astype(int).to_numpy(),
                         "sovereign": table["sovereign"].to_numpy()}, index=table["iso3"])


def resolve_countries(policy: Policy, scenario_tiers: Mapping[str, int] | None = None) -> CountryTable:
    """Apply the three layers and the territory rule (see the module docstring)."""
    base = dataset_countries()
    scenario_tiers = dict(scenario_tiers or {})
    notes = [f"{code}: the policy's [tiers] puts it in Tier {policy.tiers[code]}, {SCENARIO_TABLE} in "
             f"Tier {tier}; the policy's wins ({PRECEDENCE})"
             for code, tier in sorted(scenario_tiers.items())
             if code in policy.tiers and policy.tiers[code] != tier]
    explicit = {**scenario_tiers, **policy.tiers}
    where = {**{k: SCENARIO_TABLE for k in scenario_tiers}, **{k: "the policy's [tiers]" for k in policy.tiers}}
    tiers = pd.concat([base["tier"], pd.Series(explicit, dtype=int)])
    tiers = tiers[~tiers.index.duplicated(keep="last")].rename("tier")
    counts_as = pd.Series(tiers.index, index=tiers.index, name="counts_as")
    for territory, sovereign in base.loc[base["sovereign"] != "", "sovereign"].items():
        own = explicit.get(territory)
        if own is not None and own != tiers[sovereign]:
            notes.append(f"{territory}: Tier {own} from {where[territory]}, not the Tier {tiers[sovereign]} "
                         f"of {sovereign} that it counts as; the explicit entry wins, so {territory} is a "
                         f"country of its own here (its compute is not {sovereign}'s)")
            continue
        tiers[territory] = tiers[sovereign]
        counts_as[territory] = sovereign
    return CountryTable(tiers.astype(int), counts_as, notes)


def place_sites(sites: pd.DataFrame, table: CountryTable) -> pd.DataFrame:
    """sites with ``tier`` and ``policy_country`` (the code each site counts as) from the table."""
    out = sites.drop(columns=["tier", "policy_country"], errors="ignore")
    owner = out["country"].map(table.counts_as).fillna(out["country"])
    out.insert(1, "tier", owner.map(table.tiers).fillna(2).astype(int))
    out.insert(2, "policy_country", owner)
    return out


def policy_problems(policy: Policy, table: CountryTable) -> tuple[list[str], list[str]]:
    """What a valid policy cannot mean under these tiers: (problems -> exit 2, notes).

    Refused: a ``[caps]`` entry for a country that is not Tier 2 (caps apply to Tier-2 countries
    only) or for a territory that counts as another country (its cap would never apply); a home country that is Tier 3, or that is a territory counting as another country;
    a Tier-2 home country with ``min_home_share`` (the home minimum and the Tier-2 maximum would
    both apply to it). Noted: a Tier-2 home country without a home share.
    """
    src, notes = policy.source, []
    problems = rule_problems(policy, Countries(table.tiers, [], table.counts_as))
    for code in sorted(policy.caps):
        owner = table.counts_as.get(code, code)
        tier = int(table.tiers.get(code, 2))
        if owner != code:
            problems.append(f"{src}: [caps] {code} counts as {owner} for policy purposes, so a cap on "
                            f"{code} would never apply (caps are per country, and its compute is {owner}'s); "
                            f"write [caps] {owner}")
        elif tier != 2:
            problems.append(f"{src}: [caps] {code} is Tier {tier} under this policy; caps apply to "
                            f"Tier-2 countries only: remove the entry or move {code} to Tier 2 in [tiers]")
    home = policy.home_country
    if home is None:
        return problems, notes
    owner, tier = table.counts_as.get(home, home), int(table.tiers.get(home, 2))
    if owner != home:
        problems.append(f"{src}: home_country {home} counts as {owner} for policy purposes; "
                        f"write home_country = \"{owner}\"")
    elif tier == 3:
        problems.append(f"{src}: home_country {home} is Tier 3 under this policy; a home country "
                        "cannot be one where compute is banned: change home_country or its tier")
    elif tier == 2 and policy.min_home_share is not None:
        problems.append(f"{src}: home_country {home} is Tier 2 under this policy, so min_home_share and "
                        f"the Tier-2 limits would both apply to it: move {home} to Tier 1 in [tiers] "
                        "or change home_country")
    elif tier == 2:
        notes.append(f"home_country {home} is Tier 2 under policy {policy.label}: it is treated as any "
                     "Tier-2 country (no home share is set)")
    return problems, notes


def unknown_codes(source: str, codes: Mapping[str, Iterable[str]], known: set[str]) -> list[str]:
    """One line per policy key that names codes neither table knows (prefixed by ``source``)."""
    out = []
    for key, values in codes.items():
        bad = sorted(set(values) - known)
        if bad:
            out.append(f"{source + ': ' if source else ''}{key} has unknown country code(s) {', '.join(bad)}; use ISO 3166-1 "
                       "alpha-3 codes (datasets/countries.csv), or add the code to the scenario's countries.csv")
    return out


def policy_record(s: Scenario) -> dict[str, Any]:
    """The full effective policy for summary.json: every value and table, the tiers actually used
    (each code that differs from datasets/countries.csv, and each code of the scenario), the
    territories counted as their sovereign, the scenario's countries.csv and sweep parameters."""
    base = dataset_countries()["tier"]
    differs = s.tiers.index[s.tiers.ne(base.reindex(s.tiers.index))]
    in_scenario = set(s.sites["country"]) | set(s.sites["policy_country"]) | set(s.markets["country"])
    used = sorted(set(differs) | in_scenario | set(s.scenario_tiers))
    record = s.policy.to_dict()
    record.update(precedence=PRECEDENCE,
                  tiers_used={k: int(s.tiers.get(k, 2)) for k in used},
                  counts_as=CountryTable(s.tiers, s.counts_as).territories(),
                  scenario_tiers=dict(sorted(s.scenario_tiers.items())))
    if s.variant:
        record["sweep_parameters"] = dict(s.variant)
    return record


def territory_differences(record: Mapping[str, Any], s: Scenario) -> list[str]:
    """Notes for the scenario's territories that the record counted differently from this
    fleetopt's datasets/countries.csv (the audit follows the datasets; the note says so)."""
    recorded = record.get("counts_as")
    if not isinstance(recorded, Mapping):
        return []
    codes = set(s.sites["country"]) | set(s.markets["country"])
    now = {k: s.counts_as.get(k, k) for k in codes}
    then = {k: recorded.get(k, k) for k in codes}
    return [f"{k}: the plan's record counted it as {then[k]}, this fleetopt counts it as {now[k]} "
            "(datasets/countries.csv, sovereign column); the audit uses the latter"
            for k in sorted(codes) if now[k] != then[k]]


def policy_from_record(record: Any, where: str) -> Policy:
    """The policy a plan recorded in summary.json, rebuilt and validated like a file.

    Its ``[tiers]`` is the recorded ``tiers_used`` (the tiers actually applied), so the audit
    does not depend on the tables of the day, nor on the working directory. Raises InputError.
    """
    if not isinstance(record, Mapping) or not isinstance(record.get("name", ""), str):
        raise InputError(f"{where}: the policy record is not a table of policy values; "
                         "give --policy to audit against a policy")
    values = {k: record[k] for k in VALUE_KEYS if k in record}
    if isinstance(record.get("tiers_used"), Mapping):
        values["tiers"] = record["tiers_used"]
    return Policy(name=str(record.get("name", "recorded")), source=f"{where} (policy record)",
                  description=str(record.get("description", "")), **values)
