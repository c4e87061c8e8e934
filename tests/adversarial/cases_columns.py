"""Columns, value ranges and empty tables: near-miss column names (exit 2, "did you mean"),
extra columns (a note, exit 0), duplicate names, files that are empty, folders, binary, BOM or
CRLF, and numbers outside the ranges the solver honours exactly (README "Columns and value
ranges")."""
from __future__ import annotations

import json
import random
from pathlib import Path

from harness import Case, edit_csv

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
VALIDATE = ("validate", "{scn}")
SITES_HEADER = "site_id,country,lat,lon,power_mw,racks"
CHIPS_HEADER = "sku,tpp,power_kw,units_per_rack,inventory,capex_usd"
MARKETS_HEADER = "market_id,country,lat,lon,demand_tpp,value,max_rtt_ms,in_country_only"
US_MARKET = "us,USA,39.0,-77.5,50000000.0,"
PL_MARKET = "pl,POL,52.2,21.0,50000000.0,"
CHIP_ROW = "H,1000000.0,1.0,10,100,10.0"


def header(file: str, old: str, new: str):
    """Rename a header name in ``file`` (the first occurrence)."""
    return lambda t: edit_csv(t / "scn" / file, old, new)


def add_column(file: str, name: str, values: list[str]):
    """Append a column to every line of ``file`` (header and one value per row)."""
    def setup(t: Path) -> None:
        path = t / "scn" / file
        lines = path.read_text().splitlines()
        assert len(lines) == len(values) + 1, f"{file}: {len(lines) - 1} rows"
        cells = [name, *values]
        path.write_text("".join(f"{line},{cell}\n" for line, cell in zip(lines, cells)))
    return setup


def write(file: str, content: bytes | str):
    """Replace ``file`` with ``content``."""
    def setup(t: Path) -> None:
        path = t / "scn" / file
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def header_only(file: str):
    """Keep only the header line of ``file``."""
    def setup(t: Path) -> None:
        path = t / "scn" / file
        path.write_text(path.read_text().splitlines()[0] + "\n")
    return setup


def folder_instead(file: str):
    """Replace ``file`` with a folder of that name."""
    def setup(t: Path) -> None:
        (t / "scn" / file).unlink()
        (t / "scn" / file).mkdir()
    return setup


def transform_all(fn):
    """Apply ``fn`` to the bytes of every CSV of the scenario."""
    def setup(t: Path) -> None:
        for path in (t / "scn").glob("*.csv"):
            path.write_bytes(fn(path.read_bytes()))
    return setup


def summary_notes_have(text: str):
    """A check: summary.json's notes hold a note containing ``text``."""
    def check(t: Path, output: str) -> None:
        notes = json.loads((t / "out" / "summary.json").read_text())["notes"]
        assert any(text in n for n in notes), notes
    return check


def summary_matches_good(t: Path, output: str) -> None:
    """A check: the plan read every site, market and chip (the good scenario's 57.7 % served)."""
    summary = json.loads((t / "out" / "summary.json").read_text())
    assert abs(summary["served_pct"] - 57.7) < 1e-3, summary["served_pct"]
    assert {c["iso3"] for c in summary["countries"]} >= {"USA", "POL"}, summary["countries"]


def set_market_values(us: str, pl: str):
    return lambda t: (edit_csv(t / "scn/markets.csv", US_MARKET + "1.0,", US_MARKET + us + ","),
                      edit_csv(t / "scn/markets.csv", PL_MARKET + "1.0,", PL_MARKET + pl + ","))


def set_chip(column: str, value: str):
    """Set one column of the only chip row."""
    names = CHIPS_HEADER.split(",")
    cells = CHIP_ROW.split(",")
    cells[names.index(column)] = value
    return lambda t: edit_csv(t / "scn/chips.csv", CHIP_ROW, ",".join(cells))


BINARY = bytes(random.Random(9).randrange(256) for _ in range(4096))
RANGE_WORDS = ("README", "columns and value ranges")

CASES = [
    # --- near misses: exit 2 with "did you mean", one per file -------------------------------
    Case("col-sites-energy-per-mw", "columns", SOLVE, 2,
         ("sites.csv", "'energy_usd_per_mw'", "did you mean energy_usd_per_mwh"),
         setup=add_column("sites.csv", "energy_usd_per_mw", ["50", "60", "70"])),
    Case("col-chips-capex", "columns", SOLVE, 2, ("chips.csv", "'capex'", "did you mean capex_usd"),
         setup=header("chips.csv", "capex_usd", "capex")),
    Case("col-markets-max-rtt", "columns", SOLVE, 2,
         ("markets.csv", "'max_rtt'", "did you mean max_rtt_ms"),
         setup=header("markets.csv", "max_rtt_ms", "max_rtt")),
    Case("col-markets-demand", "columns", VALIDATE, 2,
         ("markets.csv", "'demand'", "did you mean demand_tpp"), absent=("missing column",),
         setup=header("markets.csv", "demand_tpp", "demand")),
    Case("col-sites-power-upper-case", "columns", SOLVE, 2,
         ("sites.csv", "'Power_MW'", "did you mean power_mw"),
         setup=header("sites.csv", "power_mw", "Power_MW")),
    Case("col-sites-trailing-space", "columns", VALIDATE, 2, ("sites.csv", "'racks '", "did you mean racks"),
         setup=header("sites.csv", SITES_HEADER, SITES_HEADER + " ")),
    Case("col-installed-site", "columns", VALIDATE, 2, ("installed.csv", "'site'", "did you mean site_id"),
         setup=header("installed.csv", "site_id", "site")),
    Case("col-links-rtt", "columns", VALIDATE, 2, ("links.csv", "'rtt'", "did you mean rtt_ms"),
         setup=write("links.csv", "market_id,site_id,rtt\nus,US,1\n")),
    Case("col-countries-teir", "columns", VALIDATE, 2, ("countries.csv", "'teir'", "did you mean tier"),
         setup=write("countries.csv", "iso3,teir\nPOL,1\n")),
    Case("col-chips-inventory-typo", "columns", VALIDATE, 2, ("chips.csv", "'invetory'", "did you mean inventory"),
         setup=header("chips.csv", "inventory", "invetory")),
    Case("col-markets-latitude", "columns", VALIDATE, 2, ("markets.csv", "'latitude'", "did you mean lat"),
         setup=header("markets.csv", "lat,", "latitude,")),
    # --- extra columns: used nowhere, said aloud -------------------------------------------------
    Case("col-sites-extra-owner", "columns", SOLVE, 0,
         ("note: sites.csv: column owner is not used by fleetopt (ignored)",),
         setup=add_column("sites.csv", "owner", ["a", "b", "c"]), writes=("out",),
         check=summary_notes_have("sites.csv: column owner is not used by fleetopt (ignored)")),
    Case("col-markets-extra-provider-city", "columns", SOLVE, 0,
         ("note: markets.csv: columns provider, city are not used by fleetopt (ignored)",),
         setup=lambda t: (add_column("markets.csv", "provider", ["x", "y"])(t),
                          add_column("markets.csv", "city", ["DC", "Warsaw"])(t)),
         writes=("out",), check=summary_notes_have("columns provider, city")),
    Case("col-chips-extra-notes-validate", "columns", VALIDATE, 0,
         ("note: chips.csv: column notes is not used by fleetopt (ignored)", "valid"),
         setup=add_column("chips.csv", "notes", ["our best chip"])),
    # --- country codes in lower or mixed case: used in upper case, said aloud ----------------------
    Case("col-sites-country-lowercase", "columns", SOLVE, 0,
         ("note: sites.csv: column country has country code(s) not in upper case, read as PL (pol -> POL)",),
         setup=lambda t: edit_csv(t / "scn/sites.csv", "PL,POL", "PL,pol"), writes=("out",),
         check=summary_notes_have("sites.csv: column country has country code(s) not in upper case, "
                                  "read as PL (pol -> POL)")),
    Case("col-markets-country-mixed-case", "columns", VALIDATE, 0,
         ("note: markets.csv: column country has country code(s) not in upper case, read as pl (Pol -> POL)",
          "valid"),
         setup=lambda t: edit_csv(t / "scn/markets.csv", "pl,POL", "pl,Pol")),
    Case("col-countries-iso3-lowercase", "columns", VALIDATE, 0,
         ("note: countries.csv: column iso3 has code(s) not in upper case, read as pol -> POL", "valid"),
         setup=write("countries.csv", "iso3,tier\npol,1\n")),
    Case("col-unnamed-trailing-comma", "columns", VALIDATE, 0, ("column 7 (no name)", "valid"),
         setup=add_column("sites.csv", "", ["", "", ""])),
    Case("col-duplicate-header", "columns", VALIDATE, 2, ("chips.csv", "'tpp'", "more than once"),
         setup=add_column("chips.csv", "tpp", ["5"])),
    # --- what a file is ----------------------------------------------------------------------------
    Case("col-chips-is-folder", "columns", SOLVE, 2, ("chips.csv", "is a folder"),
         setup=folder_instead("chips.csv")),
    Case("col-installed-is-folder", "columns", SOLVE, 2, ("installed.csv", "is a folder"),
         setup=folder_instead("installed.csv")),
    Case("col-installed-dangling-link", "columns", VALIDATE, 2, ("installed.csv", "is a link to", "not exist"),
         setup=lambda t: ((t / "scn/installed.csv").unlink(), (t / "scn/installed.csv").symlink_to(t / "gone.csv"))),
    Case("col-chips-binary", "columns", SOLVE, 2, ("chips.csv", "not utf-8"), setup=write("chips.csv", BINARY)),
    Case("col-markets-nul-bytes", "columns", VALIDATE, 2, ("markets.csv", "nul bytes"),
         setup=lambda t: edit_csv(t / "scn/markets.csv", "us,USA", "us\x00,USA")),
    Case("col-sites-latin1", "columns", VALIDATE, 2, ("sites.csv", "not utf-8"),
         setup=lambda t: (add_column("sites.csv", "metro", ["DC", "Kraków", "Sh"])(t),
                          transform_all(lambda b: b.decode().encode("latin-1"))(t))),
    Case("col-ragged-row", "columns", VALIDATE, 2, ("chips.csv", "cannot be read as csv"),
         setup=lambda t: edit_csv(t / "scn/chips.csv", CHIP_ROW, CHIP_ROW + ",7,8")),
    Case("col-bom", "columns", SOLVE, 0, ("served",), writes=("out",), check=summary_matches_good,
         setup=transform_all(lambda b: b"\xef\xbb\xbf" + b)),
    Case("col-crlf", "columns", SOLVE, 0, ("served",), writes=("out",), check=summary_matches_good,
         setup=transform_all(lambda b: b.replace(b"\n", b"\r\n"))),
    # --- empty tables ------------------------------------------------------------------------------
    Case("empty-chips-header-only", "empty-tables", SOLVE, 2, ("chips.csv", "has no rows"),
         setup=header_only("chips.csv")),
    Case("empty-sites-header-only", "empty-tables", SOLVE, 2, ("sites.csv", "has no rows"),
         setup=header_only("sites.csv")),
    Case("empty-markets-header-only", "empty-tables", SOLVE, 2, ("markets.csv", "has no rows"),
         setup=header_only("markets.csv")),
    Case("empty-installed-header-only", "empty-tables", SOLVE, 0, ("served",), writes=("out",),
         setup=header_only("installed.csv")),
    Case("empty-links-header-only", "empty-tables", VALIDATE, 0, ("note: links.csv has no rows",),
         setup=write("links.csv", "market_id,site_id\n")),
    Case("empty-chips-file", "empty-tables", SOLVE, 2, ("chips.csv", "is empty"), setup=write("chips.csv", "")),
    Case("empty-installed-file", "empty-tables", SOLVE, 2, ("installed.csv", "is empty"),
         setup=write("installed.csv", "")),
    Case("empty-markets-blank-lines", "empty-tables", VALIDATE, 2, ("markets.csv", "is empty"),
         setup=write("markets.csv", "\n\n\n")),
    # --- numbers outside the ranges the solver honours exactly -----------------------------------
    Case("range-value-1e15", "ranges", SOLVE, 2,
         ("markets.csv", "column value", "0 or between 0.001 and 1e6", "us (1e15)", *RANGE_WORDS),
         setup=set_market_values("1e15", "1.0")),
    Case("range-value-ratio-above", "ranges", SOLVE, 2,
         ("markets.csv", "ratio above 1e6", "highest 2000.01 at pl", "lowest 0.002 at us"),
         setup=set_market_values("0.002", "2000.01")),
    Case("range-value-ratio-at-limit", "ranges", SOLVE, 0, ("served",), writes=("out",),
         setup=set_market_values("0.002", "2000")),
    Case("range-value-zero-beside-positive", "ranges", VALIDATE, 0, ("valid",),
         setup=set_market_values("0", "1000")),
    Case("range-value-tiny", "ranges", VALIDATE, 2, ("column value", "us (1e-9)"),
         setup=set_market_values("1e-9", "1")),
    Case("range-tpp-1e18", "ranges", SOLVE, 2, ("chips.csv", "column tpp", "between 100 and 1e8", "H (1e18)"),
         setup=set_chip("tpp", "1e18")),
    Case("range-tpp-1e-9", "ranges", SOLVE, 2, ("chips.csv", "column tpp", "between 100 and 1e8", "H (1e-9)"),
         setup=set_chip("tpp", "1e-9")),
    Case("range-inventory-negative", "ranges", SOLVE, 2, ("chips.csv", "inventory", "between 0 and 1e9", "H (-5)"),
         setup=set_chip("inventory", "-5")),
    Case("range-inventory-nan", "ranges", VALIDATE, 2, ("chips.csv", "inventory", "finite"),
         setup=set_chip("inventory", "NaN")),
    Case("range-demand-inf", "ranges", VALIDATE, 2, ("markets.csv", "demand_tpp", "finite"),
         setup=lambda t: edit_csv(t / "scn/markets.csv", "us,USA,39.0,-77.5,50000000.0", "us,USA,39.0,-77.5,inf")),
    Case("range-power-kw-tiny", "ranges", VALIDATE, 2, ("power_kw", "0 or between 0.001 and 1000"),
         setup=set_chip("power_kw", "1e-6")),
    Case("range-units-per-rack-zero", "ranges", VALIDATE, 2, ("units_per_rack", "between 0.1 and 1000"),
         setup=set_chip("units_per_rack", "0")),
    Case("range-installed-units-huge", "ranges", VALIDATE, 2, ("installed.csv", "units", "1e9"),
         setup=lambda t: edit_csv(t / "scn/installed.csv", "US,H,10", "US,H,1e10")),
    Case("range-pue-below-one", "ranges", VALIDATE, 2, ("sites.csv", "pue", "between 1 and 5"),
         setup=add_column("sites.csv", "pue", ["0.5", "1.2", "1.2"])),
    Case("range-energy-price-huge", "ranges", VALIDATE, 2, ("energy_usd_per_mwh", "between 0 and 1e4"),
         setup=add_column("sites.csv", "energy_usd_per_mwh", ["1e6", "50", "50"])),
    Case("range-max-rtt-huge", "ranges", VALIDATE, 2, ("max_rtt_ms", "between 0 and 1e4"),
         setup=lambda t: edit_csv(t / "scn/markets.csv", US_MARKET + "1.0,100.0", US_MARKET + "1.0,1e9")),
]
