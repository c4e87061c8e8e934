"""Where fleetopt may write, and how: the output-folder rule, the lock, atomic writes.

The rule (README, "Output folders and the run manifest"): a folder that a command writes
(``solve --out``, ``sweep --out``, ``generate OUT``) may already exist only when it is empty or is
a folder of the same kind that fleetopt wrote (recognised by its run manifest; a 0.1.0 plan by
holding exactly placement.csv, service.csv and summary.json). It is never the scenario folder, a
folder containing it, a path inside it, or the current folder. Symlinks are resolved first.
Everything is checked before any work, so a refusal (exit 2) leaves no trace.

Writes are atomic: a file or a folder is first written under a hidden temporary name beside its
target (``.NAME.tmp-PID-*``), then renamed into place (an older folder is first moved to
``.NAME.old-PID-*``, then removed). A lock file ``.NAME.lock`` beside a folder, created
exclusively and holding the writer's pid, keeps two runs from writing the same folder at once;
a lock whose pid is dead is taken over. Leftovers of a killed run (temporary names whose pid is
dead) are cleaned up by the next write into the same place; a killed swap's older folder is put
back when the new one never arrived. Permissions follow the umask.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from optimizer.errors import InputError

PLAN_FILES = ("placement.csv", "service.csv", "summary.json")
SCENARIO_MANIFEST = "generated.json"
SWEEP_FILES = ("sweep.json", "results.csv", "results.parquet", "objective_vs_parameters.svg", "tier_moves.csv")
VARIANT_FILES = ("result.json", "plan")
KIND_WORDS = {"plan": "a plan", "sweep": "a sweep", "scenario": "a generated scenario"}
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<what>tmp|old)-(?P<pid>\d+)-[^/]*$")
_HELD: set[Path] = set()      # locks this process holds (a nested acquire of one is a no-op)


# ------------------------------------------------------------------------------------------
# The rule
# ------------------------------------------------------------------------------------------

def check_out_dir(out: str | Path, kind: str, scenario: str | Path | None = None,
                  flag: str = "--out") -> Path:
    """Resolve ``out`` and apply the output-folder rule for a folder of ``kind`` (plan, sweep,
    scenario); returns the resolved path or raises InputError naming the folder and the fix."""
    given = Path(out)
    target = given.expanduser().resolve()
    name = f"{flag} {given}"
    _check_not_around(target, name, scenario)
    _check_parents(target, name)
    if target.exists() and not target.is_dir():
        raise InputError(f"{name}: exists and is a file, not a folder; choose a new folder")
    if target.is_dir():
        found = folder_kind(target)
        if found not in ("empty", kind):
            raise InputError(f"{name}: {_describe(target, found, kind)}; fleetopt replaces only an empty folder or "
                             f"{KIND_WORDS[kind]} folder it wrote: choose a new folder (or empty this one)")
    return target


def check_out_file(path: str | Path, flag: str, protected: tuple[Path, ...] = ()) -> Path:
    """Resolve a file path the user named (``--report``, ``compare --out``): it may replace a
    file, never a folder, one of ``protected`` (input files) or a file inside a protected folder."""
    given = Path(path)
    target = given.expanduser().resolve()
    name = f"{flag} {given}"
    if target.is_dir():
        raise InputError(f"{name}: is a folder; give a file name, e.g. {given / 'report.html'}")
    for p in protected:
        p = Path(p).resolve()
        if target == p or p in target.parents:
            raise InputError(f"{name}: would overwrite {'a file in ' if target != p else ''}{p}, which this "
                             "run reads or writes; choose a path outside it")
    _check_parents(target, name)
    return target


def folder_kind(folder: Path) -> str | None:
    """'empty', 'plan', 'sweep' or 'scenario' for a folder fleetopt wrote, else None."""
    try:
        everything = set(os.listdir(folder))
    except OSError as exc:
        raise InputError(f"{folder}: cannot read this folder ({exc.strerror}); choose another path") from None
    if not everything:
        return "empty"
    entries = {e for e in everything if not _is_leftover(e, SWEEP_FILES)}
    if entries == set(PLAN_FILES):
        run = read_run(folder / "summary.json")
        if run is None or run.get("kind") == "plan":   # None: a 0.1.0 plan (no manifest)
            return "plan"
    if "sweep.json" in entries and entries <= set(SWEEP_FILES) | {"variants"} and _is_sweep_json(folder / "sweep.json") \
            and _only_variants(folder):
        return "sweep"
    if SCENARIO_MANIFEST in entries:
        run = read_run(folder / SCENARIO_MANIFEST)
        if run is not None and run.get("kind") == "scenario" and entries == {SCENARIO_MANIFEST, *run.get("files", [])}:
            return "scenario"
    return None


def read_run(path: Path) -> dict | None:
    """The ``run`` block (manifest) of a summary.json / sweep.json / generated.json, or None when
    the file is unreadable or has none."""
    try:
        run = json.loads(path.read_text()).get("run")
    except (OSError, ValueError, AttributeError):
        return None
    return run if isinstance(run, dict) else None


def _is_sweep_json(path: Path) -> bool:
    """sweep.json with a sweep manifest, or a 0.1.0 one (scenario and variants, no manifest)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    run = data.get("run") if isinstance(data, dict) else None
    return (isinstance(run, dict) and run.get("kind") == "sweep") or \
        (isinstance(data, dict) and run is None and {"scenario", "variants"} <= set(data))


def _only_variants(folder: Path) -> bool:
    """variants/ (if any) holds only variant folders of result.json and plan/."""
    variants = folder / "variants"
    if not variants.exists():
        return True
    if not variants.is_dir():
        return False
    for v in os.scandir(variants):
        if not v.is_dir(follow_symlinks=False) or any(
                e not in VARIANT_FILES and e != ".plan.lock" and not _is_leftover(e, VARIANT_FILES)
                for e in os.listdir(v.path)):
            return False
    return True


def _is_leftover(entry: str, names: tuple[str, ...]) -> bool:
    """A temporary name (``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*``) of one of ``names``."""
    m = _LEFTOVER.match(entry)
    return bool(m) and m["name"] in names


def _describe(folder: Path, found: str | None, kind: str) -> str:
    """What the folder is, naming the files that make it not ``kind`` (those it would not write)."""
    if found is not None:
        return f"is {KIND_WORDS[found]} folder"
    names = set(os.listdir(folder))
    ours = {"plan": set(PLAN_FILES), "sweep": {*SWEEP_FILES, "variants"}, "scenario": set()}[kind]
    extra = sorted(names - ours) or sorted(names)
    shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return f"folder exists and holds files fleetopt did not write ({shown})"


def _check_not_around(target: Path, name: str, scenario: str | Path | None) -> None:
    """Never the current folder, the scenario folder, a folder containing either, or a path
    inside the scenario."""
    cwd = Path.cwd().resolve()
    if target == cwd:
        raise InputError(f"{name}: is the current folder; write into a new folder, e.g. --out plan")
    if scenario is not None:
        scn = Path(scenario).expanduser().resolve()
        where = ("is the scenario folder" if target == scn else "contains the scenario folder"
                 if target in scn.parents else "is inside the scenario folder" if scn in target.parents else None)
        if where:
            raise InputError(f"{name}: {where} {scn}; write into a new folder outside it")
    if target in cwd.parents:
        raise InputError(f"{name}: contains the current folder; write into a new folder, e.g. --out plan")


def _check_parents(target: Path, name: str) -> None:
    """The nearest existing ancestor is a folder this process can write into."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{name}: {parent} is a file, not a folder; choose another path")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"{name}: cannot write into {parent} (permission denied); choose another path")
            return


# ------------------------------------------------------------------------------------------
# The lock and leftovers
# ------------------------------------------------------------------------------------------

@contextlib.contextmanager
def out_lock(target: Path, flag: str = "--out") -> Iterator[None]:
    """Hold ``.NAME.lock`` beside ``target`` (its parents are created, and removed again if they
    stay empty). Another live run's lock is exit 2; a dead run's lock is taken over. Nested
    acquisitions by the same process are no-ops."""
    target = Path(target)
    lock = target.parent / f".{target.name}.lock"
    if lock in _HELD:
        yield
        return
    made = _make_parents(target.parent, flag, target)
    try:
        _acquire(lock, flag, target)
    except BaseException:
        _remove_empty(made)
        raise
    _HELD.add(lock)
    try:
        clean_leftovers(target)
        yield
    finally:
        _HELD.discard(lock)
        lock.unlink(missing_ok=True)
        _remove_empty(made)


def _make_parents(parent: Path, flag: str, target: Path) -> list[Path]:
    missing = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag} {target}: cannot create {parent} ({exc.strerror}); choose another path") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:    # deepest first
        with contextlib.suppress(OSError):
            p.rmdir()


def _acquire(lock: Path, flag: str, target: Path) -> None:
    """Create the lock exclusively (a complete file linked into place), taking over a dead run's."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{lock.name}.tmp-{os.getpid()}-", dir=lock.parent)
    except OSError as exc:
        raise InputError(f"{flag} {target}: cannot write into {lock.parent} ({exc.strerror}); "
                         "choose another path") from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {socket.gethostname()}\n")
        for _ in range(2):
            try:
                os.link(tmp, lock)
                return
            except FileExistsError:
                owner = _lock_owner(lock)
                if owner is not None and _alive(owner):
                    raise InputError(f"{flag} {target}: another fleetopt run (pid {owner}) is writing it; "
                                     f"wait for it to finish, or choose another folder (a lock left by a "
                                     f"crashed run is {lock})") from None
                lock.unlink(missing_ok=True)      # a dead run's lock: take it over
        raise InputError(f"{flag} {target}: could not take the lock {lock}; try again")
    finally:
        Path(tmp).unlink(missing_ok=True)


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(target: Path) -> None:
    """Remove ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` beside ``target`` whose run is dead; a
    dead swap's older folder is put back when ``target`` itself is missing."""
    parent = target.parent
    if not parent.is_dir():
        return
    for entry in sorted(os.listdir(parent)):
        m = _LEFTOVER.match(entry)
        if not m or m["name"] != target.name or _alive(int(m["pid"])):
            continue
        path = parent / entry
        if m["what"] == "old" and not target.exists() and not target.is_symlink():
            os.replace(path, target)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------
# Atomic writes (every file fleetopt writes goes through these)
# ------------------------------------------------------------------------------------------

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` whole."""
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        tmp.chmod(0o777 & ~_umask())
        yield tmp
        _swap(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cannot_write(target, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``; an older ``target`` is moved aside first, removed after, and
    put back if the move fails."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{tmp.name.rsplit('-', 1)[-1]}")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary file path beside ``target``; on success it replaces ``target``."""
    target = Path(target)
    clean_leftovers(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(target, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cannot_write(target: Path, exc: OSError) -> InputError:
    return InputError(f"{target}: cannot write it ({exc.strerror or exc}); choose another path")


def write_text_atomic(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically (parents are created)."""
    target = Path(target)
    _mkdir(target.parent, target)
    with atomic_file(target) as tmp:
        tmp.write_text(text)
    return target


def write_json_atomic(target: Path, data: Any, indent: int = 1) -> Path:
    """JSON (values that JSON lacks as text) written atomically."""
    return write_text_atomic(target, json.dumps(data, indent=indent, default=str) + "\n")


def write_with(target: Path, writer: Callable[[Path], None]) -> Path:
    """Let ``writer`` fill a temporary file (e.g. ``DataFrame.to_parquet``), then move it into place."""
    target = Path(target)
    _mkdir(target.parent, target)
    with atomic_file(target) as tmp:
        writer(tmp)
    return target


def _mkdir(folder: Path, target: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
