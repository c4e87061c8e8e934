"""Regenerate datasets/countries.csv (run once by a maintainer; needs `pip install pycountry`).

Country codes and names: ISO 3166-1 as packaged by pycountry. Tiers: the 2025 AI diffusion
rule as written (see datasets/README.md): Tier 1 is the United States plus 18 countries; Tier 3
is Country Group D:5 plus Macau, with Hong Kong treated as China; every other code is Tier 2.
Sovereign: territories that count as another country for policy purposes (see SOVEREIGN); a
territory gets its sovereign's tier, and fleetopt counts its compute as the sovereign's.
"""
from __future__ import annotations

import csv
import sys

import pycountry

TIER1 = "USA AUS BEL CAN DNK FIN FRA DEU IRL ITA JPN NLD NZL NOR KOR ESP SWE TWN GBR".split()
TIER3 = ("AFG BLR MMR KHM CAF CHN HKG MAC COD CUB ERI HTI IRN IRQ PRK LBN LBY NIC RUS SOM "
         "SSD SDN SYR VEN ZWE").split()
SRC_T1 = "90 FR 4544 Tier-1 list (secondary sources) [S]"
SRC_T3 = "Country Group D:5 + Macau, Jan 2025; Hong Kong treated as China [S]"
SRC_T2 = "not Tier 1 or Tier 3, so Tier 2 by default [D]"
# Territory -> the country it counts as. Kept small: only mappings with a clear legal source.
SRC_US = ('"United States" in the EAR includes Puerto Rico and all territories, dependencies '
          "and possessions (15 CFR 772.1) [P]; counts as USA")
SRC_HK = ("removed as a separate destination under the EAR, treated as China (BIS final rules "
          "of 2020-07-31, 85 FR 45998, and 2020-12-23; EO 13936) [S]; counts as CHN")
SOVEREIGN = {**{code: ("USA", SRC_US) for code in "ASM GUM MNP PRI UMI VIR".split()},
             "HKG": ("CHN", SRC_HK)}


def main(out: str) -> None:
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_3):
        code = c.alpha_3
        tier, src = (1, SRC_T1) if code in TIER1 else (3, SRC_T3) if code in TIER3 else (2, SRC_T2)
        sovereign, sov_src = SOVEREIGN.get(code, ("", ""))
        if sovereign:
            tier = 1 if sovereign in TIER1 else 3 if sovereign in TIER3 else 2
            src = sov_src
        note = ""
        if code == "CYP":
            note = "ambiguous under the rule [?]; Tier 2 by default"
        if code == "KHM":
            note = "left D:5 on 2026-02-03 [S]; Tier 3 under the rule as written"
        rows.append({"iso3": code, "iso2": c.alpha_2, "name": getattr(c, "common_name", c.name),
                     "tier": tier, "sovereign": sovereign, "source": src, "note": note})
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "datasets/countries.csv")
