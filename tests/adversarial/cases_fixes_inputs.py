"""Cases for the review fixes on inputs (helper F2): caps on territories, sweep multipliers that
name nothing, column synonyms and near misses, CSVs separated by something other than commas,
links.csv under in_country_only and max_rtt_ms, every policy problem at once."""
from __future__ import annotations

from pathlib import Path

from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
VALIDATE = ("validate", "{scn}")


def semicolons(file: str, sep: str = ";"):
    """Setup: re-export one CSV with another separator (as a spreadsheet in some locales does)."""
    def setup(t: Path) -> None:
        path = t / "scn" / file
        path.write_text(path.read_text().replace(",", sep))
    return setup


def policy(text: str):
    """Setup: write the scenario's policy.toml."""
    return lambda t: (t / "scn/policy.toml").write_text(text)


def links(text: str):
    """Setup: write the scenario's links.csv."""
    return lambda t: (t / "scn/links.csv").write_text(text)


def rename(file: str, old: str, new: str):
    """Setup: rename a header column of one CSV."""
    def setup(t: Path) -> None:
        path = t / "scn" / file
        head, _, rest = path.read_text().partition("\n")
        assert old in head.split(","), head
        path.write_text(",".join(new if h == old else h for h in head.split(",")) + "\n" + rest)
    return setup


CASES = [
    # planner synonyms are refused ("did you mean"); names that extend a column are extra
    Case("col-alias-domestic-only", "columns", VALIDATE, 2,
         ("markets.csv", "'domestic_only'", "did you mean in_country_only"),
         setup=rename("markets.csv", "in_country_only", "domestic_only")),
    Case("col-alias-rtt-limit-ms", "columns", VALIDATE, 2,
         ("markets.csv", "'rtt_limit_ms'", "did you mean max_rtt_ms"),
         setup=rename("markets.csv", "max_rtt_ms", "rtt_limit_ms")),
    Case("col-alias-capex-per-unit", "columns", VALIDATE, 2,
         ("chips.csv", "'capex_per_unit'", "did you mean capex_usd"),
         setup=rename("chips.csv", "capex_usd", "capex_per_unit")),
    Case("col-extension-value-usd-is-extra", "columns", VALIDATE, 0,
         ("note:", "markets.csv: column value_usd is not used by fleetopt"), absent=("did you mean",),
         setup=rename("markets.csv", "value", "value_usd")),
    # links.csv pairs still obey in_country_only and max_rtt_ms (pl is in_country_only)
    Case("links-in-country-only-still-holds", "columns", VALIDATE, 0,
         ("note:", "links.csv: 1 linked pair may not serve", "in_country_only", "pl/US"),
         setup=links("market_id,site_id,rtt_ms\npl,US,1\npl,PL,1\nus,US,\n")),
    Case("links-rtt-over-max-rtt", "columns", SOLVE, 0,
         ("note:", "links.csv: 1 linked pair may not serve", "max_rtt_ms", "us/PL"),
         setup=links("market_id,site_id,rtt_ms\nus,PL,500\nus,US,\npl,PL,\n"), writes=("out",)),
    # every problem of a policy at once, named by its file
    Case("policy-value-error-beside-tier-error", "policy", VALIDATE, 2,
         ("policy.toml: ban_tier3", "policy.toml: [caps] USA is Tier 1"),
         setup=policy('ban_tier3 = "false"\n[caps]\nUSA = 1e9\n')),
    Case("policy-unknown-code-names-the-file", "policy", VALIDATE, 2,
         ("policy.toml: [tiers] has unknown country code(s) XXX", "max_tier2_country_share"),
         absent=("policy: [tiers]",), setup=policy("max_tier2_country_share = 7\n[tiers]\nXXX = 2\n")),
    Case("csv-semicolon-separated", "columns", VALIDATE, 2,
         ("chips.csv", "looks separated by ';'", "comma-separated", "re-export with commas"),
         absent=("did you mean",), setup=semicolons("chips.csv")),
    Case("csv-semicolon-separated-decimal-commas", "columns", VALIDATE, 2,
         ("sites.csv", "looks separated by ';'", "re-export with commas"),
         setup=lambda t: (t / "scn/sites.csv").write_text("site_id;country;lat;lon;power_mw;racks\n"
                                                          "US;USA;39,0;-77,5;1000;100000\n")),
    Case("csv-tab-separated", "columns", VALIDATE, 2,
         ("markets.csv", "looks separated by tabs", "re-export with commas"), setup=semicolons("markets.csv", "\t")),
    Case("caps-on-territory-hkg-counts-as-chn", "policy", VALIDATE, 2,
         ("[caps] HKG", "counts as CHN", "[caps] CHN"),
         setup=policy("[tiers]\nCHN = 2\n[caps]\nHKG = 1000\n")),
    Case("sweep-cap-on-territory", "sweep", ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "cap.HKG=1000"),
         2, ("cap.HKG", "counts as CHN", "cap.CHN"), setup=policy("[tiers]\nCHN = 2\n")),
    Case("sweep-inventory-multiplier-sku-wrong-case", "sweep",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "inventory_multiplier.h=1,2"), 2,
         ("inventory_multiplier.h", "no sku h", "H")),
    Case("sweep-demand-multiplier-country-without-market", "sweep",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "demand_multiplier.DEU=2"), 2,
         ("demand_multiplier.DEU", "no market in DEU", "POL, USA")),
    Case("sweep-demand-multiplier-lowercase-country-works", "sweep",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "demand_multiplier.pol=1,2"), 0,
         ("2 variants",), writes=("sw",)),
]
