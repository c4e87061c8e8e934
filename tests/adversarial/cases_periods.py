"""Multi-period inputs (periods.csv, deliveries.csv, capacity.csv, demand.csv; README
"Multi-period scenarios"): every bad file, id, number or policy entry is exit 2 naming the file,
column, ids and the fix; the period files without periods.csv are refused, never ignored."""
from __future__ import annotations

from pathlib import Path

from harness import Case

VALIDATE = ("validate", "{scn}")
SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
PERIODS = "period,years\nQ1,0.25\nQ2,0.25\nQ3,0.25\n"
DELIVERIES = "sku,period,units\nH,Q2,50\n"
CAPACITY = "site_id,period,power_mw,racks\nPL,Q2,0,0\n"
DEMAND = "market_id,period,demand_tpp\nus,Q3,60000000\n"


def files(**texts: str | bytes):
    """Write scenario files: keyword = file stem (periods, deliveries, ...), value = its content."""
    def setup(t: Path) -> None:
        for stem, text in texts.items():
            path = t / "scn" / f"{stem}.csv"
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return setup


def with_policy(name: str, text: str, periods: str):
    """A TOML file ``name`` in the scenario folder and a periods.csv that names it."""
    def setup(t: Path) -> None:
        (t / "scn" / name).write_text(text)
        files(periods=periods)(t)
    return setup


def periods_folder(t: Path) -> None:
    (t / "scn" / "periods.csv").mkdir()


POLICY_PERIODS = "period,years,policy\nQ1,0.25,\nQ2,0.25,{}\nQ3,0.25,\n"

CASES = [
    # --- good inputs ------------------------------------------------------------------------------
    Case("periods-valid", "periods", VALIDATE, 0,
         ("multi-period", "Q1", "Q2", "Q3", "available units", "power MW", "150"),
         setup=files(periods=PERIODS, deliveries=DELIVERIES, capacity=CAPACITY, demand=DEMAND)),
    Case("periods-bom-crlf", "periods", VALIDATE, 0, ("multi-period", "Q3"),
         setup=files(periods=b"\xef\xbb\xbf" + PERIODS.replace("\n", "\r\n").encode(),
                     deliveries=DELIVERIES.replace("\n", "\r\n"))),
    Case("periods-extra-column-noted", "periods", VALIDATE, 0,
         ("note: periods.csv: column label is not used by fleetopt (ignored)",),
         setup=files(periods="period,years,label\nQ1,1,first\n")),
    Case("periods-deliveries-header-only", "periods", VALIDATE, 0, ("multi-period",),
         setup=files(periods=PERIODS, deliveries="sku,period,units\n")),
    Case("periods-policy-override-noted", "periods", ("validate", "{scn}", "--policy", "none"), 0,
         ("note:", "policy none", "every period", "overridden", "Q2 (aidr-2025-g2g)"),
         setup=files(periods=POLICY_PERIODS.format("aidr-2025-g2g"))),
    # --- period files without periods.csv: refused, never ignored -------------------------------
    Case("periods-deliveries-without-periods", "periods", SOLVE, 2,
         ("deliveries.csv", "no periods.csv", "add periods.csv"), setup=files(deliveries=DELIVERIES)),
    Case("periods-capacity-without-periods", "periods", VALIDATE, 2,
         ("capacity.csv", "no periods.csv"), setup=files(capacity=CAPACITY)),
    Case("periods-demand-without-periods", "periods", SOLVE, 2,
         ("demand.csv", "no periods.csv"), setup=files(demand=DEMAND)),
    # --- periods.csv itself ---------------------------------------------------------------------
    Case("periods-header-only", "periods", VALIDATE, 2, ("periods.csv", "has no rows"),
         setup=files(periods="period,years\n")),
    Case("periods-empty-file", "periods", VALIDATE, 2, ("periods.csv", "is empty"), setup=files(periods="")),
    Case("periods-is-a-folder", "periods", VALIDATE, 2, ("periods.csv", "is a folder"), setup=periods_folder),
    Case("periods-semicolons", "periods", VALIDATE, 2, ("periods.csv", "separated by ';'"),
         setup=files(periods="period;years\nQ1;1\n")),
    Case("periods-duplicate-id", "periods", VALIDATE, 2, ("periods.csv", "duplicate period", "Q2"),
         setup=files(periods="period,years\nQ1,0.25\nQ2,0.25\nQ2,0.5\n")),
    Case("periods-empty-id", "periods", VALIDATE, 2, ("periods.csv", "column period is empty", "line 3"),
         setup=files(periods="period,years\nQ1,0.25\n,0.25\n")),
    Case("periods-years-zero", "periods", VALIDATE, 2, ("periods.csv", "column years", "Q2 (0)"),
         setup=files(periods="period,years\nQ1,0.25\nQ2,0\n")),
    Case("periods-years-negative", "periods", VALIDATE, 2, ("periods.csv", "column years", "Q1 (-1)"),
         setup=files(periods="period,years\nQ1,-1\n")),
    Case("periods-years-not-a-number", "periods", VALIDATE, 2, ("periods.csv", "not numbers", "Q1 (soon)"),
         setup=files(periods="period,years\nQ1,soon\n")),
    Case("periods-discount-zero", "periods", VALIDATE, 2, ("periods.csv", "column discount", "Q2 (0)"),
         setup=files(periods="period,years,discount\nQ1,0.25,1\nQ2,0.25,0\n")),
    Case("periods-discount-negative", "periods", VALIDATE, 2, ("periods.csv", "column discount", "Q1 (-0.9)"),
         setup=files(periods="period,years,discount\nQ1,0.25,-0.9\n")),
    Case("periods-near-miss-quarter", "periods", VALIDATE, 2, ("periods.csv", "'quarter'", "did you mean period"),
         setup=files(periods="quarter,years\nQ1,1\n")),
    Case("periods-near-miss-length", "periods", VALIDATE, 2, ("periods.csv", "'Years '", "did you mean years"),
         setup=files(periods="period,Years \nQ1,1\n")),
    Case("periods-missing-years", "periods", VALIDATE, 2, ("periods.csv", "missing column", "years"),
         setup=files(periods="period\nQ1\n")),
    # --- references and numbers of the period tables --------------------------------------------
    Case("periods-deliveries-unknown-period", "periods", VALIDATE, 2,
         ("deliveries.csv", "unknown period", "Q9", "periods.csv"),
         setup=files(periods=PERIODS, deliveries="sku,period,units\nH,Q9,5\n")),
    Case("periods-deliveries-unknown-sku", "periods", VALIDATE, 2,
         ("deliveries.csv", "unknown sku", "B300", "chips.csv"),
         setup=files(periods=PERIODS, deliveries="sku,period,units\nB300,Q1,5\n")),
    Case("periods-deliveries-negative", "periods", VALIDATE, 2, ("deliveries.csv", "column units", "H/Q2 (-5)"),
         setup=files(periods=PERIODS, deliveries="sku,period,units\nH,Q2,-5\n")),
    Case("periods-deliveries-duplicate", "periods", VALIDATE, 2,
         ("deliveries.csv", "duplicate sku and period", "H/Q2"),
         setup=files(periods=PERIODS, deliveries="sku,period,units\nH,Q2,5\nH,Q2,7\n")),
    Case("periods-deliveries-near-miss", "periods", VALIDATE, 2, ("deliveries.csv", "'qty'", "did you mean units"),
         setup=files(periods=PERIODS, deliveries="sku,period,qty\nH,Q2,5\n")),
    Case("periods-deliveries-too-many", "periods", VALIDATE, 2,
         ("period Q3: deliveries.csv", "units available", "at most 1e9", "H (1000000090)"),
         setup=files(periods=PERIODS, deliveries="sku,period,units\nH,Q2,900000000\nH,Q3,99999990\n")),
    Case("periods-capacity-unknown-site", "periods", VALIDATE, 2, ("capacity.csv", "unknown site_id", "DE", "sites.csv"),
         setup=files(periods=PERIODS, capacity="site_id,period,power_mw,racks\nDE,Q1,5,5\n")),
    Case("periods-capacity-negative", "periods", VALIDATE, 2, ("capacity.csv", "column racks", "PL/Q2 (-1)"),
         setup=files(periods=PERIODS, capacity="site_id,period,power_mw,racks\nPL,Q2,5,-1\n")),
    Case("periods-capacity-duplicate", "periods", VALIDATE, 2,
         ("capacity.csv", "duplicate site_id and period", "PL/Q2"),
         setup=files(periods=PERIODS, capacity="site_id,period,power_mw,racks\nPL,Q2,5,5\nPL,Q2,6,6\n")),
    Case("periods-capacity-below-installed", "periods", VALIDATE, 2,
         ("periods Q2, Q3", "installed fleet already exceeds capacity.csv", "power_mw", "US"),
         setup=files(periods=PERIODS, capacity="site_id,period,power_mw,racks\nUS,Q2,0.001,100\n")),
    Case("periods-demand-unknown-market", "periods", VALIDATE, 2, ("demand.csv", "unknown market_id", "de", "markets.csv"),
         setup=files(periods=PERIODS, demand="market_id,period,demand_tpp\nde,Q1,500\n")),
    Case("periods-demand-negative", "periods", VALIDATE, 2, ("demand.csv", "column demand_tpp", "us/Q1 (-5)"),
         setup=files(periods=PERIODS, demand="market_id,period,demand_tpp\nus,Q1,-5\n")),
    Case("periods-demand-duplicate", "periods", VALIDATE, 2, ("demand.csv", "duplicate market_id and period", "us/Q1"),
         setup=files(periods=PERIODS, demand="market_id,period,demand_tpp\nus,Q1,5\nus,Q1,6\n")),
    Case("periods-all-problems-together", "periods", VALIDATE, 2,
         ("periods.csv", "column years", "deliveries.csv", "unknown sku", "demand.csv", "column demand_tpp"),
         setup=files(periods="period,years\nQ1,0\n", deliveries="sku,period,units\nX,Q1,5\n",
                     demand="market_id,period,demand_tpp\nus,Q1,-1\n")),
    # --- the policy column ------------------------------------------------------------------------
    Case("periods-policy-unknown-preset", "periods", VALIDATE, 2,
         ("periods.csv", "column policy", "Q2", "unknown preset 'aidr-2031'", "relative to the scenario folder"),
         setup=files(periods=POLICY_PERIODS.format("aidr-2031"))),
    Case("periods-policy-missing-file", "periods", VALIDATE, 2, ("periods.csv", "column policy", "Q2", "later.toml"),
         setup=files(periods=POLICY_PERIODS.format("later.toml"))),
    Case("periods-policy-bad-toml", "periods", VALIDATE, 2, ("periods.csv", "column policy", "Q2", "not valid TOML"),
         setup=with_policy("later.toml", "name = [", POLICY_PERIODS.format("later.toml"))),
    Case("periods-policy-bad-value", "periods", VALIDATE, 2,
         ("periods.csv", "column policy", "Q2", "min_tier1_share", "[0, 1]"),
         setup=with_policy("later.toml", "min_tier1_share = 2\n", POLICY_PERIODS.format("later.toml"))),
    Case("periods-tier3-installed-banned-later", "periods", VALIDATE, 2,
         ("period Q3: installed.csv: installed units at Tier-3 site(s) CN",), absent=("period Q1", "periods Q1"),
         setup=lambda t: (files(periods="period,years,policy\nQ1,0.25,none\nQ2,0.25,none\nQ3,0.25,\n")(t),
                          (t / "scn" / "installed.csv").write_text((t / "scn" / "installed.csv").read_text() + "CN,H,5\n"))),
    Case("periods-policy-cap-on-tier1", "periods", VALIDATE, 2,
         ("period q2", "[caps] DEU is Tier 1"),
         setup=with_policy("later.toml", "[caps]\nDEU = 5\n", POLICY_PERIODS.format("later.toml"))),
]

# --- the dated and flag keys of a policy file (README "Policy file (TOML)") --------------------
POLICY_FILE = lambda text: (lambda t: (t / "scn" / "policy.toml").write_text(text))
CASES += [
    Case("policy-effective-not-a-date", "policy", VALIDATE, 2, ("policy.toml", "effective = '2025-5-13'", "YYYY-MM-DD"),
         setup=POLICY_FILE('effective = "2025-5-13"\n')),
    Case("policy-superseded-before-effective", "policy", VALIDATE, 2,
         ("policy.toml", "superseded (2025-01-01) must come after effective (2025-05-13)"),
         setup=POLICY_FILE('effective = 2025-05-13\nsuperseded = 2025-01-01\n')),
    Case("policy-licence-unknown-code", "policy", VALIDATE, 2, ("licence_required", "unknown country code", "XYZ"),
         setup=POLICY_FILE('licence_required = ["ARE", "XYZ"]\n')),
    Case("policy-licence-not-a-list", "policy", VALIDATE, 2, ("licence_required must be a list",),
         setup=POLICY_FILE('licence_required = "ARE"\n')),
    Case("policy-licence-flag-in-summary", "policy", SOLVE, 0, ("licence required", "1 site in POL", "a flag"),
         setup=POLICY_FILE('ban_tier3 = true\nlicence_required = ["POL"]\n'), writes=("out",)),
]
