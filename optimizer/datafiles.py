"""Where the shipped datasets live: ``datasets/`` in a checkout, ``fleetopt_data`` when installed."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    """Return the folder holding countries.csv, chips.csv, policies/ and sample/."""
    checkout = Path(__file__).resolve().parent.parent / "datasets"
    if (checkout / "countries.csv").is_file():
        return checkout
    return Path(str(resources.files("fleetopt_data")))


def policies_dir() -> Path:
    """Folder of the policy presets (``NAME.toml``)."""
    return data_dir() / "policies"
