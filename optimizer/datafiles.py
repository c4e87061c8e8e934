"""Where the shipped datasets live (``datasets/`` in a checkout, the ``fleetopt_data`` package when
installed) and how a SCENARIO argument names one.

A SCENARIO is a folder path or the name of a shipped scenario (``sample``): a folder of that name
in the working directory wins, with a note, so ``fleetopt solve sample --out plan`` works from
any directory and a user's own ``sample/`` is never silently replaced by ours.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from optimizer.errors import InputError


def data_dir() -> Path:
    """Return the folder holding countries.csv, chips.csv, policies/ and sample/."""
    checkout = Path(__file__).resolve().parent.parent / "datasets"
    if (checkout / "countries.csv").is_file():
        return checkout
    spec = importlib.util.find_spec("fleetopt_data")   # installed copy (a namespace package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "countries.csv").is_file():
            return Path(location)
    raise InputError("fleetopt's datasets (countries.csv, policies/) are missing: reinstall fleetopt")


def policies_dir() -> Path:
    """Folder of the policy presets (``NAME.toml``)."""
    return data_dir() / "policies"


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenario folders by name: each folder of the datasets that holds sites.csv."""
    return {p.name: p for p in sorted(data_dir().iterdir()) if (p / "sites.csv").is_file()}


def resolve_scenario(spec: str | Path) -> tuple[Path, str | None]:
    """The folder a SCENARIO argument stands for, and a note when the choice needs one.

    A bare name (one path component) that names a shipped scenario is that scenario, unless a
    folder of that name exists here: the local folder wins and the note says so. Anything else
    is a path, returned as given (the loader reports a missing folder)."""
    path = Path(spec)
    shipped = shipped_scenarios().get(path.name) if len(path.parts) == 1 else None
    if shipped is None:
        return path, None
    if not path.is_dir():
        return shipped, None
    if path.resolve() == shipped.resolve():
        return path, None
    return path, (f"scenario {path}: the folder {path.resolve()} is used, not the shipped dataset of the "
                  f"same name (write its path, {shipped}, to use that one)")


def scenario_not_found(spec: str | Path) -> str:
    """The error line for a SCENARIO that is neither a folder nor a shipped scenario's name."""
    names = ", ".join(shipped_scenarios()) or "none"
    return (f"{spec}: scenario folder not found (it must hold sites.csv, chips.csv and markets.csv); "
            f"shipped datasets, usable by name from any folder: {names} (fleetopt datasets lists them)")


def scenario_catalog() -> list[dict]:
    """One row per shipped scenario: name, sites, countries, markets, periods (1: a snapshot;
    else the rows of periods.csv), what it is (the title of its README.md, after the dash) and
    where it lies."""
    rows = []
    for name, folder in shipped_scenarios().items():
        sites = pd.read_csv(folder / "sites.csv", usecols=["country"], keep_default_na=False)
        markets = pd.read_csv(folder / "markets.csv", usecols=[0])
        periods = len(pd.read_csv(folder / "periods.csv", usecols=[0])) if (folder / "periods.csv").is_file() else 1
        rows.append({"name": name, "sites": len(sites), "countries": sites["country"].nunique(),
                     "markets": len(markets), "periods": periods, "what": _title(folder / "README.md"),
                     "path": folder})
    return rows


def _title(readme: Path) -> str:
    """The first line of a README, without the '#' and the folder name before the dash."""
    first = readme.read_text(encoding="utf-8").splitlines()[0] if readme.is_file() else ""
    return first.lstrip("# ").split(" — ", 1)[-1].strip()
