"""Where fleetopt may write, and how: the output-folder rule, the lock, atomic writes.

The rule (README, "Output folders and the run manifest"): a folder that a command writes
(``solve --out``, ``sweep --out``, ``generate OUT``) may already exist only when it is empty or is
a folder of the same kind that fleetopt wrote (recognised by its run manifest, which lists a
plan's files in other formats, PLAN_EXTRA_FILES; a 0.1.0 plan by
holding exactly placement.csv, service.csv and summary.json). It is never the scenario folder, a
folder containing it, a path inside it, or the current folder. Symlinks are resolved first.
Everything is checked before any work, so a refusal (exit 2) leaves no trace.

Writes are atomic: a file or a folder is first written under a hidden temporary name beside its
target (``.NAME.tmp-PID-*``), then renamed into place (an older folder is first moved to
``.NAME.old-PID-*``, then removed). A lock file ``.NAME.lock`` beside a folder, held with an
exclusive ``flock`` and recording the writer's pid and host, keeps two runs from writing the
same folder at once; the kernel releases it when its run dies, so a dead run's lock is simply
taken (one recording a live pid of this host, or any other host, counts as held). Leftovers of a killed run (temporary names whose pid is
dead) are cleaned up by the next write into the same place; a killed swap's older folder is put
back when the new one never arrived. Permissions follow the umask.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from optimizer.errors import InputError

PLAN_FILES = ("placement.csv", "service.csv", "summary.json")
PLAN_EXTRA_FILES = ("placement.parquet", "service.parquet", "plan.xlsx", "prices.csv", "unserved.csv")
"""Files a plan folder may hold besides PLAN_FILES when its manifest lists them (``run.files``):
the plan in other formats (``solve --format``), its shadow prices and unserved demand."""
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
                  flag: str = "--out", checked: Path | None = None) -> Path:
    """Resolve ``out`` and apply the output-folder rule for a folder of ``kind`` (plan, sweep,
    scenario); returns the resolved path or raises InputError naming the folder and the fix.
    ``checked``: the path an earlier check (before the lock) resolved ``out`` to; a link
    changed since then is refused rather than writing where nobody checked."""
    given = Path(out)
    target = given.expanduser().resolve()
    name = f"{flag} {given}"
    if checked is not None and target != checked:
        raise InputError(f"{name}: now leads to {target}, not {checked} as when it was checked (a link "
                         "changed during the run); nothing was written; run again")
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


def check_apart(target: Path, name: str, folder: str | Path, what: str) -> None:
    """``target`` (a resolved output folder) is neither ``folder`` (an input folder the run reads,
    named ``what`` in the message), nor inside it, nor around it: writing there would replace or
    mix into what the run reads."""
    source = Path(folder).expanduser().resolve()
    where = ("is" if target == source else "contains" if target in source.parents
             else "is inside" if _within(target, source) else None)
    if where:
        raise InputError(f"{name}: {where} the {what} folder {source}, which this run reads; "
                         "write into a new folder outside it")


def check_out_file(path: str | Path, flag: str, protected: tuple[Path, ...] = (),
                   ours: Callable[[Path], bool] | None = None, kind: str = "a file") -> Path:
    """Resolve a file path the user named (``--report``, ``--log``, ``compare --out``): never a
    folder, one of ``protected`` (input files) or a file inside a protected folder; an existing
    file only when ``ours`` recognises it as ``kind`` that fleetopt wrote (a report, a log, a
    comparison): fleetopt replaces its own files, never a user's."""
    given = Path(path)
    name = f"{flag} {given}"
    try:
        target = given.expanduser().resolve()
    except (RuntimeError, OSError) as exc:      # a symlink loop (RuntimeError on Python 3.11)
        raise InputError(f"{name}: cannot resolve this path ({exc}); choose another") from None
    if target.is_dir():
        raise InputError(f"{name}: is a folder; give a file name, e.g. {given / 'report.html'}")
    for p in protected:
        p = Path(p).resolve()
        if target == p or p in target.parents:
            raise InputError(f"{name}: would overwrite {'a file in ' if target != p else ''}{p}, which this "
                             "run reads or writes; choose a path outside it")
    _check_parents(target, name)
    if target.exists() and not (ours is not None and target.is_file() and ours(target)):
        raise InputError(f"{name}: exists and is not {kind} fleetopt wrote (fleetopt replaces only its own "
                         "files); choose a new path, or move that file away first")
    return target


def first_line_is(path: Path, start: str) -> bool:
    """Whether the text file ``path`` begins with ``start`` (False when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(start.encode())) == start.encode()
    except OSError:
        return False


def folder_kind(folder: Path) -> str | None:
    """'empty', 'plan', 'sweep' or 'scenario' for a folder fleetopt wrote, else None."""
    try:
        everything = set(os.listdir(folder))
    except OSError as exc:
        raise InputError(f"{folder}: cannot read this folder ({exc.strerror}); choose another path") from None
    if not everything:
        return "empty"
    entries = {e for e in everything if not _is_leftover(e, SWEEP_FILES)}
    if set(PLAN_FILES) <= entries and _is_plan(folder, entries - set(PLAN_FILES)):
        return "plan"
    if "sweep.json" in entries and entries <= set(SWEEP_FILES) | {"variants"} and _is_sweep_json(folder / "sweep.json") \
            and _only_variants(folder):
        return "sweep"
    if SCENARIO_MANIFEST in entries and _generated_changes(folder) == {}:
        return "scenario"
    return None


def _is_plan(folder: Path, extra: set[str]) -> bool:
    """A plan fleetopt wrote, given the files it holds besides PLAN_FILES: its manifest says
    ``plan`` and lists every extra file (:func:`_listed_extras`); or a 0.1.0 plan (no manifest,
    no extra file)."""
    run = read_run(folder / "summary.json")
    if run is None:
        return not extra and _is_old_summary(folder / "summary.json")
    return run.get("kind") == "plan" and extra <= _listed_extras(folder)


def _listed_extras(folder: Path) -> set[str]:
    """The PLAN_EXTRA_FILES that the plan manifest in ``folder`` lists as written."""
    run = read_run(folder / "summary.json") or {}
    listed = run.get("files") if isinstance(run.get("files"), list) else []
    return set(PLAN_EXTRA_FILES) & set(listed)


def _is_old_summary(path: Path) -> bool:
    """summary.json as fleetopt 0.1.0 wrote it (no manifest): a JSON object with the plan's
    ``status`` and ``objective`` — not merely a file of that name by another tool."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"status", "objective"} <= set(data)


def generated_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file in a freshly generated scenario (recorded in generated.json)."""
    return {e.name: sha256_file(Path(e.path)) for e in os.scandir(folder) if e.name != SCENARIO_MANIFEST}


def _generated_changes(folder: Path) -> dict[str, str] | None:
    """Name -> added / changed / removed for every file of a generated scenario that is not as
    generated.json records it (older manifests record names only, no hashes); None when
    generated.json marks no generated scenario."""
    run = read_run(folder / SCENARIO_MANIFEST)
    if run is None or run.get("kind") != "scenario":
        return None
    listed, recorded = set(run.get("files", [])), run.get("sha256") or {}
    present = set(os.listdir(folder)) - {SCENARIO_MANIFEST}
    changes = {n: "added" for n in present - listed} | {n: "removed" for n in listed - present}
    for name in sorted(listed & present):
        path = folder / name
        if name in recorded and (not path.is_file() or path.is_symlink() or sha256_file(path) != recorded[name]):
            changes[name] = "changed"
    return changes


def sha256_file(path: Path) -> str:
    """The file's sha256, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    """variants/ (if any) holds only variant folders of result.json and a plan fleetopt wrote."""
    return not _variant_strangers(folder)


def _variant_strangers(folder: Path) -> list[str]:
    """What in a sweep folder's variants/ fleetopt did not write, as paths from ``folder``
    (sorted): anything but variant folders holding result.json and plan/ (and their lock and
    temporary names), and a plan/ that is not an empty folder or a plan fleetopt wrote (its
    files it did not write; the folder itself when it is not a plan at all)."""
    variants = folder / "variants"
    if not variants.exists():
        return []
    if variants.is_symlink() or not variants.is_dir():
        return ["variants"]
    strangers = []
    for v in os.scandir(variants):
        where = f"variants/{v.name}"
        if not v.is_dir(follow_symlinks=False):
            strangers.append(where)
            continue
        strangers += [f"{where}/{e}" for e in os.listdir(v.path)
                      if e not in VARIANT_FILES and e != ".plan.lock" and not _is_leftover(e, VARIANT_FILES)]
        plan = Path(v.path) / "plan"
        if plan.is_symlink() or (plan.exists() and not plan.is_dir()):
            strangers.append(f"{where}/plan")
        elif plan.is_dir() and folder_kind(plan) not in ("empty", "plan"):
            ours = set(PLAN_FILES) | _listed_extras(plan)
            foreign = sorted(n for n in os.listdir(plan) if n not in ours and not _is_leftover(n, PLAN_FILES))
            strangers += [f"{where}/plan/{n}" for n in foreign] or [f"{where}/plan"]
    return sorted(strangers)


def _is_leftover(entry: str, names: tuple[str, ...]) -> bool:
    """A temporary name (``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*``) of one of ``names``."""
    m = _LEFTOVER.match(entry)
    return bool(m) and m["name"] in names


def _describe(folder: Path, found: str | None, kind: str) -> str:
    """What the folder is: another kind of fleetopt folder, or which of its files fleetopt did
    not write (only those) and which of a generated scenario's files were edited since."""
    if found is not None:
        return f"is {KIND_WORDS[found]} folder"
    names = set(os.listdir(folder))
    changes = _generated_changes(folder) if kind == "scenario" else None
    if changes:
        foreign = sorted(n for n, how in changes.items() if how == "added")
        edited = [f"{n} {how}" for n, how in sorted(changes.items()) if how != "added"]
        parts = ([f"holds files fleetopt did not write ({_first(foreign)})"] if foreign else []) + \
            ([f"its generated files were edited since ({_first(edited)})"] if edited else [])
        return "folder exists and " + " and ".join(parts)
    ours = {"plan": set(PLAN_FILES) | _listed_extras(folder), "sweep": {*SWEEP_FILES, "variants"},
            "scenario": set()}[kind]
    strangers = sorted(names - ours) or (_variant_strangers(folder) if kind == "sweep" else []) or sorted(names)
    return f"folder exists and holds files fleetopt did not write ({_first(strangers)})"


def _first(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _check_not_around(target: Path, name: str, scenario: str | Path | None) -> None:
    """Never the current folder, the scenario folder, a folder containing either, or a path
    inside the scenario."""
    cwd = Path.cwd().resolve()
    example = f"{name.split()[0]} plan" if name.startswith("-") else "a new name such as plan"
    if target == cwd:
        raise InputError(f"{name}: is the current folder; write into a new folder, e.g. {example}")
    if scenario is not None:
        check_apart(target, name, scenario, "scenario")
    if target in cwd.parents:
        raise InputError(f"{name}: contains the current folder; write into a new folder, e.g. {example}")


def _within(path: Path, folder: Path) -> bool:
    """``path`` lies inside ``folder``: by name, or by identity of an existing ancestor (on a
    case-insensitive file system Sample/plan lies inside sample)."""
    if folder in path.parents:
        return True
    if not folder.is_dir():
        return False
    return any(p.exists() and os.path.samefile(p, folder) for p in path.parents)


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
    stay empty). Another live run's lock (or another host's) is exit 2; a dead run's lock on
    this host is taken over. Nested acquisitions by the same process are no-ops."""
    target = Path(target)
    lock = target.parent / f".{target.name}.lock"
    if lock in _HELD:
        yield
        return
    made = _make_parents(target.parent, flag, target)
    try:
        fd = _acquire(lock, flag, target)
    except BaseException:
        _remove_empty(made)
        raise
    _HELD.add(lock)
    try:
        clean_leftovers(target)
        yield
    finally:
        _HELD.discard(lock)
        _release(lock, fd)
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


def _acquire(lock: Path, flag: str, target: Path) -> int:
    """Hold ``lock`` and return its open descriptor: an exclusive ``flock`` (the kernel drops it
    when the process dies, so a dead run's lock needs no takeover race), on the file that is
    still at that path (a holder unlinks it before it lets go), recording ``PID HOST``. A lock
    file naming a live pid on this host (a run of an older fleetopt) or any other host (whose
    pids this host cannot see) counts as held."""
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"{flag} {target}: cannot write into {lock.parent} ({exc.strerror}); "
                             "choose another path") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _busy(lock, flag, target) from None
        if not _same_file(fd, lock):      # its holder removed it between our open and our flock
            os.close(fd)
            continue
        pid, host = _lock_owner(lock)
        if host is not None and (host != socket.gethostname() or (pid is not None and _alive(pid))):
            os.close(fd)
            raise _busy(lock, flag, target)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        return fd
    raise InputError(f"{flag} {target}: could not take the lock {lock}; try again")


def _release(lock: Path, fd: int) -> None:
    """Unlink the lock while still holding it, then let go (a waiter that opened the old file
    sees that it is no longer at the path and starts over)."""
    lock.unlink(missing_ok=True)
    os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _busy(lock: Path, flag: str, target: Path) -> InputError:
    pid, host = _lock_owner(lock)
    who = f"pid {pid}" + (f" on {host}" if host and host != socket.gethostname() else "") if pid else "another process"
    return InputError(f"{flag} {target}: another fleetopt run ({who}) is writing it; wait for it to finish, "
                      f"or choose another folder (a lock left by a crashed run on another host is {lock}: "
                      "remove it once that run is surely gone)")


def _lock_owner(lock: Path) -> tuple[int | None, str | None]:
    """The pid and host a lock file records (None, None when it records nothing readable)."""
    try:
        words = lock.read_text().split()
        return int(words[0]), (words[1] if len(words) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None, None


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


@contextlib.contextmanager
def streamed_file(target: Path) -> Iterator[TextIO]:
    """A text file written while the run goes on (a log): the stream writes the hidden
    temporary beside ``target`` (``tail -f`` can follow it), which is moved into place when the
    block ends, normally or by an error (a failed run's log is what explains it). An interrupt
    (Ctrl-C: KeyboardInterrupt, SystemExit) removes it: nothing is written."""
    target = Path(target)
    _mkdir(target.parent, target)
    failure: Exception | None = None
    with atomic_file(target) as tmp, open(tmp, "w") as stream:
        try:
            yield stream
        except Exception as exc:      # noqa: BLE001 - kept, moved into place, raised again below
            failure = exc
    if failure is not None:
        raise failure


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
