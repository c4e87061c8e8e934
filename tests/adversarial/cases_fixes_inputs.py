"""Cases for the review fixes on inputs (helper F2): caps on territories, sweep multipliers that
name nothing, column synonyms and near misses, CSVs separated by something other than commas,
links.csv under in_country_only and max_rtt_ms, every policy problem at once."""
from __future__ import annotations

from harness import Case

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
VALIDATE = ("validate", "{scn}")


def policy(text: str):
    """Setup: write the scenario's policy.toml."""
    return lambda t: (t / "scn/policy.toml").write_text(text)


CASES = [
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
