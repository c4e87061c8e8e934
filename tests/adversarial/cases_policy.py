"""Policy and tier cases (issue 9, section 2): the default Tier-3 ban, tier precedence, case of
country codes, tiers that are not exactly 1, 2 or 3, territories, policies that cannot mean what
they say, every problem reported at once, and `check` auditing against the recorded policy."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from harness import Case, edit_csv

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
VALIDATE = ("validate", "{scn}")
CHECK = ("check", "{scn}", "{plan}")


def policy(text: str):
    """Setup: write the scenario's policy.toml."""
    return lambda t: (t / "scn/policy.toml").write_text(text)


def countries(text: str):
    """Setup: write the scenario's countries.csv."""
    return lambda t: (t / "scn/countries.csv").write_text(text)


def both(*setups):
    return lambda t: [f(t) for f in setups]


def china_demand(t: Path) -> None:
    """A valuable market in China, servable only from the Chinese site."""
    with (t / "scn/markets.csv").open("a") as fh:
        fh.write("cn,CHN,31.2,121.5,50000000.0,5.0,100.0,true\n")


def summary(t: Path) -> dict:
    return json.loads((t / "out/summary.json").read_text())


def placed(t: Path) -> set[str]:
    table = pd.read_csv(t / "out/placement.csv")
    return set(table.loc[table["units"] > 0, "site_id"])


def no_china(t: Path, out: str) -> None:
    assert "CN" not in placed(t) and summary(t)["policy"]["ban_tier3"] is True


def china_used(t: Path, out: str) -> None:
    assert "CN" in placed(t)


def tiers_used(code: str, tier: int):
    def check(t: Path, out: str) -> None:
        assert summary(t)["policy"]["tiers_used"][code] == tier
    return check


def pri_is_home(t: Path, out: str) -> None:
    s = summary(t)
    usa = {c["iso3"]: c for c in s["countries"]}["USA"]
    assert usa["tier"] == 1 and usa["share"] >= 0.5 and s["home_share"] >= 0.5 - 1e-9
    assert s["policy"]["counts_as"]["PRI"] == "USA" and "PRI" not in {c["iso3"] for c in s["countries"]}


def edit_record(**values):
    """Setup: change values in the plan's recorded policy (summary.json)."""
    def setup(t: Path) -> None:
        path = t / "plan/summary.json"
        data = json.loads(path.read_text())
        data["policy"].update(values)
        path.write_text(json.dumps(data))
    return setup


def lie_about_tier(t: Path) -> None:
    """Setup: add 5 units at the Chinese site to the plan and write its tier as 1."""
    with (t / "plan/placement.csv").open("a") as fh:
        fh.write("CN,CHN,1,H,0.0,5.0,5.0,5000000.0,5.0,0.5\n")


CASES = [
    # the Tier-3 ban is on unless a policy says ban_tier3 = false
    Case("policy-without-ban-key-bans-tier3", "policy", SOLVE, 0, ("served",),
         setup=both(policy('home_country = "USA"\nmin_home_share = 0.1\n'), china_demand),
         writes=("out",), check=no_china),
    Case("policy-ban-false-allows-tier3", "policy", SOLVE, 0, ("served",),
         setup=both(policy("ban_tier3 = false\n"), china_demand), writes=("out",), check=china_used),
    Case("policy-empty-file-bans-tier3", "policy", SOLVE, 0, ("served",),
         setup=both(policy(""), china_demand), writes=("out",), check=no_china),
    Case("check-prints-tier3-row-when-ban-off", "policy", (*CHECK, "--policy", "none"), 0,
         ("tier3_ban", "off"), needs_plan=True),
    Case("check-prints-tier3-row-without-tier3-sites", "policy", CHECK, 0, ("tier3_ban", "compliant"),
         needs_plan=True, setup=lambda t: edit_csv(t / "scn/sites.csv", "CN,CHN,31.2,121.5,1000.0,100000.0\n", "")),
    Case("policy-ban-not-boolean", "policy", VALIDATE, 2, ("ban_tier3", "true or false"),
         setup=policy('ban_tier3 = "yes"\n')),
    # policies that cannot mean what they say
    Case("policy-home-share-without-home-country", "policy", VALIDATE, 2, ("min_home_share", "home_country"),
         setup=policy("min_home_share = 0.5\n")),
    Case("policy-cap-on-tier1-country", "policy", VALIDATE, 2, ("[caps] USA", "Tier 1", "Tier-2 countries only"),
         setup=policy("[caps]\nUSA = 100\n")),
    Case("policy-cap-on-tier3-country", "policy", VALIDATE, 2, ("[caps] CHN", "Tier 3"),
         setup=policy("[caps]\nCHN = 100\n")),
    Case("policy-home-country-tier3", "policy", VALIDATE, 2, ("home_country CHN", "Tier 3"),
         setup=policy('home_country = "CHN"\n')),
    Case("policy-home-country-tier2-with-share", "policy", VALIDATE, 2, ("home_country POL", "Tier 2"),
         setup=policy('home_country = "POL"\nmin_home_share = 0.5\n')),
    Case("policy-home-country-tier2-without-share-noted", "policy", VALIDATE, 0, ("note:", "POL", "Tier 2"),
         setup=policy('home_country = "POL"\n')),
    Case("policy-home-country-lowercase", "policy", SOLVE, 0,
         ("home_share[USA]", "note:", "policy.toml: country code(s) not in upper case, read as home_country usa -> USA"),
         setup=policy('home_country = "usa"\nmin_home_share = 0.5\n'), writes=("out",),
         check=lambda t, out: summary(t)["policy"]["home_country"] == "USA"),
    Case("policy-home-country-is-territory", "policy", VALIDATE, 2, ("home_country PRI", "counts as USA"),
         setup=policy('home_country = "PRI"\n')),
    Case("policy-cap-on-territory", "policy", VALIDATE, 2, ("[caps] PRI", "counts as USA"),
         setup=policy("[caps]\nPRI = 5\n")),
    Case("policy-python-style-share-percent", "policy", VALIDATE, 2, ("max_tier2_country_share = 7", "[0, 1]"),
         setup=policy("max_tier2_country_share = 7\n")),
    # every problem at once
    Case("policy-unknown-code-and-bad-share", "policy", VALIDATE, 2,
         ("max_tier2_country_share = 7", "unknown country code(s) XXX"),
         setup=policy("max_tier2_country_share = 7\n[tiers]\nXXX = 2\n")),
    Case("policy-bad-and-csv-bad", "policy", VALIDATE, 2, ("min_tier1_share", "sites.csv", "power_mw"),
         setup=both(policy("min_tier1_share = 2\n"),
                    lambda t: edit_csv(t / "scn/sites.csv", "POL,52.2,21.0,1000.0", "POL,52.2,21.0,-5"))),
    Case("policy-unreadable-and-csv-bad", "policy", VALIDATE, 2, ("not valid TOML", "sites.csv", "power_mw"),
         setup=both(policy("min_tier1_share = \n"),
                    lambda t: edit_csv(t / "scn/sites.csv", "POL,52.2,21.0,1000.0", "POL,52.2,21.0,-5"))),
    # check audits against the plan's record, never a preset re-read by name
    Case("check-uses-recorded-values", "policy", CHECK, 1, ("tier2_share", "BROKEN"), needs_plan=True,
         setup=edit_record(max_tier2_country_share=0.0)),
    Case("check-record-malformed", "policy", CHECK, 2, ("summary.json", "max_tier2_country_share"),
         needs_plan=True, setup=edit_record(max_tier2_country_share=7)),
    Case("check-record-bad-and-csv-bad", "policy", CHECK, 2, ("max_tier2_country_share", "sites.csv", "power_mw"),
         needs_plan=True, setup=both(edit_record(max_tier2_country_share=7),
                                     lambda t: edit_csv(t / "scn/sites.csv", "POL,52.2,21.0,1000.0", "POL,52.2,21.0,-5"))),
    Case("check-record-not-a-table", "policy", CHECK, 2, ("summary.json", "policy record"),
         needs_plan=True, setup=lambda t: (t / "plan/summary.json").write_text('{"policy": [1, 2]}')),
    Case("check-notes-territory-counted-differently", "policy", CHECK, 0, ("note:", "PRI", "counted it as PRI"),
         needs_plan=True, setup=both(lambda t: edit_csv(t / "scn/sites.csv", "US,USA,", "US,PRI,"),
                                     edit_record(counts_as={}))),
    Case("check-derives-tiers-not-plan-column", "policy", CHECK, 1, ("tier3_ban", "CN"), needs_plan=True,
         setup=lie_about_tier),
    # [tiers] in a policy
    Case("policy-tier-4", "tiers", VALIDATE, 2, ("[tiers]", "1, 2 or 3", "POL (4)"), setup=policy("[tiers]\nPOL = 4\n")),
    Case("policy-tier-1.5", "tiers", VALIDATE, 2, ("[tiers]", "POL (1.5)"), setup=policy("[tiers]\nPOL = 1.5\n")),
    Case("policy-tier-0", "tiers", VALIDATE, 2, ("[tiers]", "POL (0)"), setup=policy("[tiers]\nPOL = 0\n")),
    Case("policy-tier-word", "tiers", VALIDATE, 2, ("[tiers]", "POL ('two')"), setup=policy('[tiers]\nPOL = "two"\n')),
    Case("policy-tier-bad-code", "tiers", VALIDATE, 2, ("[tiers] keys", "PO"), setup=policy("[tiers]\nPO = 1\n")),
    Case("policy-tier-code-twice", "tiers", VALIDATE, 2, ("POL more than once",),
         setup=policy("[tiers]\npol = 1\nPOL = 2\n")),
    Case("policy-tier-lowercase-code", "tiers", SOLVE, 0, ("served", "read as [tiers] pol -> POL"),
         setup=policy("[tiers]\npol = 1\n"), writes=("out",), check=tiers_used("POL", 1)),
    Case("policy-codes-mixed-case-noted", "tiers", VALIDATE, 0,
         ("valid", "read as [caps] Pol -> POL, [groups] pol -> POL, licence_required chn -> CHN"),
         setup=policy('licence_required = ["chn"]\n[caps]\nPol = 1e8\n'
                      '[groups.EU]\ncountries = ["pol"]\nmin_share = 0.0\n')),
    # the scenario's countries.csv
    Case("countries-lowercase-code", "tiers", SOLVE, 0,
         ("served", "countries.csv: column iso3 has code(s) not in upper case, read as pol -> POL"),
         setup=countries("iso3,tier\npol,3\n"),
         writes=("out",), check=lambda t, out: "PL" not in placed(t) and tiers_used("POL", 3)(t, out) is None),
    Case("countries-tier-1.5", "tiers", VALIDATE, 2, ("countries.csv", "exactly 1, 2 or 3", "POL (1.5)"),
         setup=countries("iso3,tier\nPOL,1.5\n")),
    Case("countries-tier-0", "tiers", VALIDATE, 2, ("countries.csv", "tier"), setup=countries("iso3,tier\nPOL,0\n")),
    Case("countries-tier-word", "tiers", VALIDATE, 2, ("countries.csv", "tier", "two"),
         setup=countries("iso3,tier\nPOL,two\n")),
    Case("countries-code-twice-any-case", "tiers", VALIDATE, 2, ("countries.csv", "more than once"),
         setup=countries("iso3,tier\nPOL,1\npol,2\n")),
    Case("countries-bad-code", "tiers", VALIDATE, 2, ("countries.csv", "three-letter", "PO"),
         setup=countries("iso3,tier\nPO,1\n")),
    Case("countries-new-code-usable", "tiers", VALIDATE, 0, ("valid",),
         setup=both(countries("iso3,tier\nxkx,2\n"),
                    lambda t: edit_csv(t / "scn/sites.csv", "PL,POL,", "PL,XKX,"),
                    lambda t: edit_csv(t / "scn/markets.csv", "pl,POL,", "pl,xkx,"))),
    Case("countries-conflict-with-policy-noted", "tiers", VALIDATE, 0, ("note:", "POL", "the policy's wins"),
         setup=both(countries("iso3,tier\nPOL,1\n"), policy("[tiers]\nPOL = 2\n"))),
    Case("policy-tier-beats-countries", "tiers", SOLVE, 0, ("note:", "policy's wins"),
         setup=both(countries("iso3,tier\nPOL,1\n"), policy("max_tier2_country_share = 0.07\n[tiers]\nPOL = 2\n")),
         writes=("out",), check=tiers_used("POL", 2)),
    # territories
    Case("territory-site-counts-as-home", "tiers", SOLVE, 0, ("served",),
         setup=lambda t: [edit_csv(t / "scn/sites.csv", "US,USA,", "US,PRI,")],
         writes=("out",), check=pri_is_home),
    Case("territory-explicit-entry-wins-noted", "tiers", VALIDATE, 0, ("note:", "PRI", "country of its own"),
         setup=both(countries("iso3,tier\nPRI,2\n"),
                    lambda t: edit_csv(t / "scn/sites.csv", "PL,POL,", "PL,PRI,"))),
]
