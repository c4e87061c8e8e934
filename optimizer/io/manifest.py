"""The run manifest: what produced a plan, sweep or generated scenario, in one ``run`` block.

It is written into summary.json (plans), sweep.json (sweeps) and generated.json (generated
scenarios) and serves three purposes: it marks a folder as fleetopt's own (the output-folder
rule, :mod:`optimizer.outdir`), it is a sweep's resume key (:func:`resume_differences`), and it
lets ``compare`` warn that two plans come from different scenarios (:func:`input_differences`).

Fields: ``schema``, ``kind`` (plan, sweep, scenario), ``fleetopt_version``, ``solvers`` (highspy,
ortools, pulp versions), ``python``, ``command`` (sys.argv), ``options`` (as resolved),
``scenario`` (``path`` and ``inputs``: sha256 of every input file the loader reads),
``datasets`` (sha256 of the shipped countries.csv), ``policy`` (name, source, sha256 of its file,
``effective_sha256`` of the policy as used), ``started_utc``; a sweep adds ``variant_policies``
(sha256 of each policy file its variants name) and ``objective`` (``serve`` or ``margin``), a
multi-period plan or sweep ``period_policies`` (each period's policy fingerprint).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import sys
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from optimizer.datafiles import data_dir
from optimizer.errors import InputError
from optimizer.inputs.economics import ECONOMICS_FILE
from optimizer.inputs.tables import ALL_TABLES, PERIOD_TABLES, PERIODS
from optimizer.inputs.timeline import Timeline
from optimizer.outdir import sha256_file
from optimizer.policy.policy import Policy, resolve_policy_path

SCHEMA = 1
SOLVER_PACKAGES = ("highspy", "highspy-extras", "ortools", "pulp")   # with highspy-extras, HiGHS's interior point is HiPO, else IPX
INPUT_FILES = tuple(spec.file for spec in (*ALL_TABLES, PERIODS, *PERIOD_TABLES)) + ("policy.toml", ECONOMICS_FILE)
DATASET_FILES = ("countries.csv",)


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_manifest(kind: str, folder: Path | None, policy: Policy | None, options: dict[str, Any],
                   started: str | None = None, variant_policies: Iterable[str] = ()) -> dict[str, Any]:
    """The ``run`` block for a run of ``kind`` on the scenario ``folder`` under ``policy``."""
    run: dict[str, Any] = {
        "schema": SCHEMA, "kind": kind, "fleetopt_version": fleetopt_version(),
        "solvers": {p: _package_version(p) for p in SOLVER_PACKAGES}, "python": platform.python_version(),
        "command": list(sys.argv), "options": json.loads(json.dumps(options, default=_plain)),
        "started_utc": started or utc_now(),
    }
    if folder is not None:
        folder = Path(folder)
        run["scenario"] = {"path": str(folder.resolve()),
                           "inputs": {n: sha256_file(folder / n) for n in INPUT_FILES if (folder / n).is_file()}}
        run["datasets"] = {n: sha256_file(data_dir() / n) for n in DATASET_FILES}
    if policy is not None:
        run["policy"] = policy_fingerprint(policy)
    specs = sorted(set(variant_policies))
    if specs:
        run["variant_policies"] = {spec: _policy_file_hash(spec) for spec in specs}
    return run


def timeline_manifest(tl: Timeline, options: dict[str, Any], started: str | None = None, kind: str = "plan",
                       variant_policies: Iterable[str] = ()) -> dict[str, Any]:
    """The ``run`` block of a multi-period plan (or sweep): as a snapshot run's (the scenario's
    input files include periods.csv, deliveries.csv, capacity.csv and demand.csv; ``policy`` is
    the first period's), plus ``period_policies``, each period's policy fingerprint."""
    run = build_manifest(kind, tl.path, tl.first.policy, options, started, variant_policies)
    run["period_policies"] = {p.id: policy_fingerprint(p.scenario.policy) for p in tl.periods}
    return run


def run_inputs(folder: str | Path, *policies: str | None) -> tuple[Path, ...]:
    """What a run on ``folder`` reads, so that a file the user names for output (``--report``)
    may neither be nor lie inside it: the whole scenario folder, the shipped datasets (presets,
    countries.csv) and the file each policy spec stands for (a preset by name or by default lies
    in the datasets; a spec that names no file is reported by the loader)."""
    out = [Path(folder), data_dir()]
    for spec in filter(None, policies):
        try:
            out.append(resolve_policy_path(spec))
        except InputError:
            continue
    return tuple(out)


def policy_fingerprint(policy: Policy) -> dict[str, Any]:
    """Name, source, the source file's sha256 (None when the policy was built in Python) and the
    sha256 of the policy as used (every value, so an edit made in Python shows)."""
    source = Path(policy.source)
    effective = {k: v for k, v in policy.to_dict().items() if k != "source"}
    return {"name": policy.name, "source": policy.source,
            "sha256": sha256_file(source) if source.is_file() else None,
            "effective_sha256": hashlib.sha256(json.dumps(effective, sort_keys=True, default=str).encode()).hexdigest()}


def fleetopt_version() -> str:
    """The installed distribution's version, else the checkout's pyproject.toml."""
    try:
        return importlib.metadata.version("fleetopt")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text())["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _plain(value: Any) -> str:
    """An option's value as JSON text: paths resolved (symlinks too), anything else as str()."""
    return str(Path(value).expanduser().resolve()) if isinstance(value, Path) else str(value)


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _policy_file_hash(spec: str) -> str | None:
    """sha256 of the file a preset name or path stands for (None when there is none: that
    variant fails with its own reason)."""
    try:
        return sha256_file(resolve_policy_path(spec))
    except Exception:  # a bad spec is reported by the variant itself
        return None


def input_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The scenario input files (and shipped datasets) that differ between two manifests."""
    out = []
    for block, prefix in (("scenario", ""), ("datasets", "datasets/")):
        a = (old.get(block) or {}).get("inputs", {}) if block == "scenario" else old.get(block) or {}
        b = (new.get(block) or {}).get("inputs", {}) if block == "scenario" else new.get(block) or {}
        for name in sorted(a.keys() | b.keys()):
            if a.get(name) != b.get(name):
                change = "added" if name not in a else "removed" if name not in b else "changed"
                out.append(f"{prefix}{name} {change}")
    return out


def resume_differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Why the results of the run ``old`` cannot be reused by ``new`` (empty: they can): the
    scenario's files, the policy (of any period), a variant's policy file, the objective, the
    fleetopt version or the solver packages' versions differ (another solver build may end at
    another optimal plan). A manifest without ``objective`` was a ``serve`` run (before
    sweeps had ``--objective``)."""
    if not old or old.get("schema") != SCHEMA:
        return ["it was written by an older fleetopt, without a resume key"]
    out = input_differences(old, new)
    was, now = old.get("policy") or {}, new.get("policy") or {}
    if was.get("effective_sha256") != now.get("effective_sha256"):
        out.append(f"the policy differs ({now.get('name')} from {now.get('source')}; "
                   f"was {was.get('name')} from {was.get('source')})")
    was, now = old.get("period_policies") or {}, new.get("period_policies") or {}
    out += [f"the policy of period {pid} differs ({(now.get(pid) or {}).get('name')}; was "
            f"{(was.get(pid) or {}).get('name')})" for pid in dict.fromkeys([*was, *now])
            if (was.get(pid) or {}).get("effective_sha256") != (now.get(pid) or {}).get("effective_sha256")]
    was, now = old.get("objective", "serve"), new.get("objective", "serve")
    if was != now:
        out.append(f"the objective differs ({now}; was {was})")
    a, b = old.get("variant_policies") or {}, new.get("variant_policies") or {}
    out += [f"policy {spec} changed" for spec in sorted(a.keys() & b.keys()) if a[spec] != b[spec]]
    if old.get("fleetopt_version") != new.get("fleetopt_version"):
        out.append(f"fleetopt {new.get('fleetopt_version')} (was {old.get('fleetopt_version')})")
    was, now = old.get("solvers") or {}, new.get("solvers") or {}
    names = list(dict.fromkeys([*now, *was]))     # a package absent from one manifest counts as not installed
    if any(was.get(n) != now.get(n) for n in names):
        out.append(f"the solver packages differ ({_versions(now, names)}; was {_versions(was, names)})")
    return out


def _versions(solvers: dict[str, str | None], names: list[str]) -> str:
    return ", ".join(f"{name} {solvers.get(name) or 'absent'}" for name in names)
