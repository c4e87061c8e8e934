"""The adversarial corpus's harness: one :class:`Case` per broken or tricky input or command.

Each case runs the real CLI (typer's ``CliRunner``, in process) inside a fresh ``tmp_path`` that
holds a small valid scenario at ``scn/`` (and, with ``needs_plan``, a plan that ``fleetopt
solve`` wrote at ``plan/``). The case's ``setup`` then breaks something. The harness asserts:

* the exit code is the documented one;
* no exception escaped (``result.exception`` is ``None`` or the ``SystemExit`` of that code) and
  no traceback was printed;
* every word in ``words`` appears in the output (case-insensitive), none of ``absent``;
* no file outside ``writes`` changed, appeared or vanished (every file under ``tmp_path`` is
  hashed before and after); a failing case (exit != 0) may write nothing at all.

Placeholders in ``args``: ``{scn}`` the scenario, ``{plan}`` the plan, ``{tmp}`` the temp root.
The command runs with ``tmp`` as its working folder (so a relative path can reach nothing else).
Cases live in ``cases_*.py`` modules, each with a ``CASES`` list; ``test_corpus.py`` runs them all.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/ for helpers.py
from helpers import M, chip, market, site, write_scenario

from cli import app

DATASETS = Path(__file__).resolve().parents[2] / "datasets"

KINDS = ("output-folder", "file-path", "policy", "tiers", "columns", "ranges", "plan-files",
         "options", "sweep", "status", "empty-tables", "periods")


@dataclass(frozen=True)
class Case:
    """One adversarial input: what to break, what to run, what must come out."""

    id: str
    kind: str
    args: tuple[str, ...]
    exit_code: int
    words: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None
    needs_plan: bool = False
    writes: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    check: Callable[[Path, str], None] | None = field(default=None, compare=False)

    def __post_init__(self):
        assert self.kind in KINDS, f"{self.id}: unknown kind {self.kind}"


def good_scenario(folder: Path) -> Path:
    """Three sites (USA, POL, CHN), one sku, two markets; feasible under every preset."""
    return write_scenario(
        folder,
        [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5),
         market("pl", "POL", 50 * M, 52.2, 21.0, in_country_only=True)],
        installed=[("US", "H", 10)])


def edit_csv(path: Path, old: str, new: str) -> None:
    """Replace text in a CSV (fails loudly when ``old`` is absent, so a setup cannot go stale)."""
    text = path.read_text()
    assert old in text, f"{path.name}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (files), 'dir' (folders) or 'link:TARGET' (symlinks)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link:{os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    """Relative path -> contents of every file under ``root`` (datasets/ is small)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def restore(root: Path, before: dict[str, bytes]) -> list[str]:
    """Put ``root`` back as ``before`` recorded it; returns the files that had changed."""
    after = snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for rel in changed:
        if rel in before:
            (root / rel).write_bytes(before[rel])
        else:
            (root / rel).unlink()
    return changed


runner = CliRunner()


def run_case(case: Case, tmp: Path) -> str:
    """Run one case in ``tmp``; returns the output (for extra checks). Asserts everything above."""
    scn = good_scenario(tmp / "scn")
    if case.needs_plan:
        r = runner.invoke(app, ["solve", str(scn), "--out", str(tmp / "plan")])
        assert r.exit_code == 0, r.output
    cwd = os.getcwd()
    try:
        if case.setup is not None:
            case.setup(tmp)
        before = tree_digest(tmp)
        shipped = snapshot(DATASETS)
        args = [a.format(scn=scn, plan=tmp / "plan", tmp=tmp, data=DATASETS) for a in case.args]
        os.chdir(tmp)     # the command runs in tmp: a relative path (even ".") can only reach tmp
        result = runner.invoke(app, args)
    finally:
        os.chdir(cwd)
    output = result.output
    spoiled = restore(DATASETS, shipped)
    assert not spoiled, f"{case.id}: the run changed datasets/: {spoiled}\n{output}"
    assert result.exit_code == case.exit_code, f"{case.id}: exit {result.exit_code}\n{output}"
    exc = result.exception
    assert exc is None or (isinstance(exc, SystemExit) and (exc.code or 0) == case.exit_code), \
        f"{case.id}: exception escaped: {exc!r}\n{output}"
    assert "Traceback" not in output, f"{case.id}: traceback printed\n{output}"
    low = output.lower()
    for word in case.words:
        assert word.lower() in low, f"{case.id}: {word!r} not in output\n{output}"
    for word in case.absent:
        assert word.lower() not in low, f"{case.id}: {word!r} in output\n{output}"
    after = tree_digest(tmp)
    allowed = () if case.exit_code != 0 else case.writes
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    touched = sorted(k for k in changed if not any(k == w or k.startswith(w.rstrip("/") + "/")
                                                    for w in allowed))
    assert not touched, f"{case.id}: files changed that the case may not touch: {touched}\n{output}"
    if case.check is not None:
        case.check(tmp, output)
    return output
