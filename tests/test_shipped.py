"""The shipped datasets reach an installed fleetopt, and a SCENARIO names one from any folder.

``fleetopt solve sample --out plan`` must work outside a checkout: the wheel carries every file
of ``datasets/`` (as the ``fleetopt_data`` package), and every command that takes a SCENARIO
resolves a bare name through one helper (a local folder of that name wins, with a note).
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from optimizer import load_scenario
from optimizer.datafiles import data_dir, resolve_scenario, scenario_catalog, shipped_scenarios
from optimizer.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_package_data_covers_every_shipped_file():
    """Each file under datasets/ matches a fleetopt_data package-data glob, so the wheel has it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["fleetopt_data"] == "datasets"
    globs = config["package-data"]["fleetopt_data"]
    files = [p.relative_to(ROOT / "datasets").as_posix() for p in (ROOT / "datasets").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert not missing, f"not in the wheel (add to package-data): {missing}"


def test_shipped_scenarios_and_catalog():
    assert shipped_scenarios() == {name: data_dir() / name for name in ("sample", "sample-quarterly")}
    rows = {r["name"]: r for r in scenario_catalog()}
    row = rows["sample"]
    assert (row["sites"], row["countries"], row["markets"], row["periods"]) == (253, 48, 499, 1)
    assert row["what"] == "a large U.S. cloud provider, at real cloud-region metros"
    assert rows["sample-quarterly"]["periods"] == 12


def test_a_name_resolves_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario("sample") == (data_dir() / "sample", None)
    assert load_scenario("sample").path == data_dir() / "sample"
    assert resolve_scenario("other") == (Path("other"), None)          # not a name: a path, as given
    assert resolve_scenario("x/sample") == (Path("x/sample"), None)    # a path is never a name
    with pytest.raises(InputError, match="shipped datasets, usable by name from any folder: sample"):
        load_scenario("other")


def test_a_local_folder_wins_with_a_note(tmp_path, monkeypatch):
    shutil.copytree(data_dir() / "sample", tmp_path / "sample")
    (tmp_path / "sample" / "markets.csv").write_text(
        "\n".join((data_dir() / "sample" / "markets.csv").read_text().splitlines()[:3]) + "\n")
    monkeypatch.chdir(tmp_path)
    path, note = resolve_scenario("sample")
    assert path == Path("sample") and "is used, not the shipped dataset" in note
    s = load_scenario("sample")
    assert len(s.markets) == 2 and s.notes[0] == note
    shutil.rmtree(tmp_path / "sample")
    (tmp_path / "sample").touch()         # a file of a shipped name is no folder: the name still wins
    assert resolve_scenario("sample") == (data_dir() / "sample", None)


def test_inside_the_datasets_folder_no_note(monkeypatch):
    monkeypatch.chdir(data_dir())
    assert resolve_scenario("sample") == (Path("sample"), None)


def test_datasets_command():
    r = runner.invoke(app, ["datasets"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["name", "sites", "countries", "markets", "periods", "what"]
    assert lines[1].split()[:5] == ["sample", "253", "48", "499", "1"]
    assert lines[2].split()[:5] == ["sample-quarterly", "254", "49", "499", "12"]
    assert "aidr-2025-uveu" in r.output and "with a note" in r.output


@pytest.mark.parametrize("command", [
    ["validate", "sample"], ["check", "sample", "{plan}"], ["explain", "sample", "--top", "1"],
    ["report", "sample", "{plan}", "--out", "{tmp}/r.html"],
    ["solve", "sample", "--out", "{tmp}/p2"],
    ["sweep", "sample", "--out", "{tmp}/sw", "--vary", "max_tier2_country_share=0.07"],
])
def test_every_scenario_command_resolves_names_alike(command, tmp_path, monkeypatch):
    """From a folder that is not the checkout, each command finds the shipped sample by name, and
    with a local ``sample/`` each uses that one and prints the note."""
    if command[0] in ("check", "report"):
        assert runner.invoke(app, ["solve", str(data_dir() / "sample"), "--out", str(tmp_path / "plan")]).exit_code == 0
    args = [a.format(plan=tmp_path / "plan", tmp=tmp_path) for a in command]
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "note: scenario sample" not in r.output
    local = tmp_path / "sample"
    shutil.copytree(data_dir() / "sample", local)
    for out in ("p2", "sw"):
        shutil.rmtree(tmp_path / out, ignore_errors=True)
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and r.exception is None, r.output
    assert f"note: scenario sample: the folder {local.resolve()} is used" in r.output


@pytest.mark.slow
def test_an_installed_wheel_plans_the_sample_from_any_folder(tmp_path):
    """Build the wheel from a copy of the checkout, install it into a fresh venv and run
    ``fleetopt datasets`` and ``fleetopt solve sample --out plan`` in an empty folder."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "cli.py"):
        shutil.copy(ROOT / name, src / name)
    for name in ("optimizer", "datasets"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    run = lambda *args, **kw: subprocess.run(args, capture_output=True, text=True, **kw)   # noqa: E731
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"), str(src))
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("fleetopt-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--system-site-packages", str(venv)).returncode == 0
    installed = run(str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    "--force-reinstall", str(wheel))
    assert installed.returncode == 0, installed.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = run(str(venv / "bin" / "python"), "-c", "import optimizer.datafiles as d; print(d.__file__, d.data_dir())",
                cwd=work, env=env)
    module, data = where.stdout.split()
    assert module.startswith(str(venv)) and Path(data).name == "fleetopt_data", where.stdout + where.stderr
    listed = run(str(venv / "bin" / "fleetopt"), "datasets", cwd=work, env=env)
    assert listed.returncode == 0 and "sample" in listed.stdout, listed.stdout + listed.stderr
    solved = run(str(venv / "bin" / "fleetopt"), "solve", "sample", "--out", "plan", cwd=work, env=env)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    checked = run(str(venv / "bin" / "fleetopt"), "check", "sample", "plan", cwd=work, env=env)
    assert checked.returncode == 0 and "compliant" in checked.stdout, checked.stdout + checked.stderr
    assert sorted(p.name for p in work.iterdir()) == ["plan"]
