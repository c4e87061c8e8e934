"""Where the shipped datasets live: ``datasets/`` in a checkout, ``fleetopt_data`` when installed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

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
