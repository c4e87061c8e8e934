"""Long solves show progress: the status line (live on a terminal, plain lines with --progress,
none with --quiet; never on stdout), --log (the solver's own log, streamed), and Ctrl-C that
stops a busy solver within seconds: one line, exit 130, nothing written."""
from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from helpers import M, chip, market, site, write_scenario
from test_cli_process import FLEETOPT, ROOT, fleetopt, interrupt, lines

from optimizer.bench.generate import generate_fleet
from optimizer.outdir import folder_kind
from optimizer.progress import deferred_interrupt, interrupt_requested, interrupting
from optimizer.solvers.ortools_process import GRACE_SECONDS

SAMPLE = ROOT / "datasets" / "sample"
PHASES = ["load", "validate", "build", "value stage", "cost stage", "write"]


def phases_shown(stderr: str) -> list[str]:
    """The phases of the plain progress lines, in order."""
    return [line.split(": ", 1)[1].rsplit(" (at ", 1)[0] for line in lines(stderr) if line.startswith("fleetopt solve: ")]


def test_plain_progress_lines_on_stderr_never_stdout(tmp_path):
    quiet = fleetopt("solve", SAMPLE, "--out", tmp_path / "a", "--quiet")
    shown = fleetopt("solve", SAMPLE, "--out", tmp_path / "b", "--progress")
    default = fleetopt("solve", SAMPLE, "--out", tmp_path / "c")
    assert quiet.returncode == shown.returncode == default.returncode == 0, shown.stderr
    assert quiet.stderr == "" and default.stderr == "", default.stderr     # stderr not a terminal: no lines
    assert [p for p in phases_shown(shown.stderr) if p in PHASES] == PHASES, shown.stderr
    assert all(line.startswith("fleetopt solve: ") for line in lines(shown.stderr))
    assert shown.stdout.replace("/b/", "/a/") == quiet.stdout


def test_live_status_line_on_a_terminal(tmp_path):
    """stderr a terminal: the line is redrawn in place (carriage return, erase) and erased at
    the end; stdout (a pipe) carries the plan's lines only."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))     # 200 columns
    proc = subprocess.Popen([*FLEETOPT, "solve", str(SAMPLE), "--out", str(tmp_path / "plan")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=child, text=True)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:       # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(main)
    assert proc.returncode == 0
    text = shown.decode()
    assert "\r\x1b[2Kfleetopt solve: value stage" in text and text.endswith("\r\x1b[2K"), text
    assert "\n" not in text.replace("\r\n", ""), text         # one line, redrawn, never a new one
    assert "fleetopt solve" not in out and "\r" not in out and out.startswith("status: optimal")


SOLVER_LOG_LINES = {"fast": "Model status        : Optimal", "pulp": "Welcome to the CBC MILP Solver",
                    "ortools-glop": "Current status: OPTIMAL"}


@pytest.mark.parametrize("path", sorted(SOLVER_LOG_LINES))
def test_log_streams_the_solver_log(tmp_path, path):
    """HiGHS through its logging callback, CBC through its own log file, OR-Tools through the
    standard output pointed at the log: each solver's lines in the log, none in the output."""
    log = tmp_path / "logs" / "solve.log"
    quiet = fleetopt("solve", SAMPLE, "--out", tmp_path / "a", "--path", path)
    r = fleetopt("solve", SAMPLE, "--out", tmp_path / "b", "--path", path, "--log", log)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = log.read_text()
    markers = [line[len("[fleetopt] "):] for line in text.splitlines() if line.startswith("[fleetopt] ")]
    assert [m for m in markers if m in PHASES] == PHASES, markers
    assert SOLVER_LOG_LINES[path] in text
    assert r.stdout.replace("/b/", "/a/") == quiet.stdout          # the solver never writes to the output
    assert sorted(p.name for p in log.parent.iterdir()) == ["solve.log"]     # no temporary left


def test_log_of_a_failed_solve_is_kept(tmp_path):
    """Infeasible (exit 3): no plan, but the log that explains it is written."""
    scenario = write_scenario(
        tmp_path / "scn", [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0)],
        [chip(inventory=0)], [market("us", "USA", 50 * M, 39.0, -77.5)],
        installed=[("US", "H", 10), ("PL", "H", 5)], links=None)      # POL holds 33 % > 7 %: infeasible
    log = tmp_path / "solve.log"
    r = fleetopt("solve", scenario, "--out", tmp_path / "plan", "--log", log)
    assert r.returncode == 3, r.stderr
    assert "Model status        : Infeasible" in log.read_text() and not (tmp_path / "plan").exists()


@pytest.mark.parametrize("where", ["folder", "input", "report"])
def test_log_refused_where_it_would_overwrite(tmp_path, where):
    report = tmp_path / "report.html"
    target = {"folder": tmp_path, "input": SAMPLE / "sites.csv", "report": report}[where]
    before = (SAMPLE / "sites.csv").read_bytes()
    r = fleetopt("solve", SAMPLE, "--out", tmp_path / "plan", "--log", target, "--report", report)
    assert r.returncode == 2 and lines(r.stderr)[0].startswith(f"error: --log {target}: "), r.stderr
    assert len(lines(r.stderr)) == 1 and not (tmp_path / "plan").exists() and not report.exists()
    assert (SAMPLE / "sites.csv").read_bytes() == before


def test_deferred_interrupt_holds_ctrl_c_until_the_solver_returns():
    """Inside the block SIGINT only sets the flag the solver callbacks poll; it is raised as
    KeyboardInterrupt when the block ends, and the usual handler is back. It starts from Python's
    own handler (the only one deferred_interrupt replaces): a suite started as a background job by
    a shell without job control inherits SIGINT ignored, and Python then installs no handler."""
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _deferred_then_raised()
    finally:
        signal.signal(signal.SIGINT, earlier)


def _deferred_then_raised():
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.time() + 5
            while not interrupt_requested() and time.time() < deadline:
                time.sleep(0.01)
            assert interrupt_requested()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not interrupt_requested()


def test_watcher_sees_ctrl_c_while_the_main_thread_runs_no_python():
    """A solver holding the main thread in C code (here: the main thread blocks SIGINT and sleeps,
    so the signal lands on another thread and Python's handler waits for the main thread): the
    watcher of :func:`interrupting` still stops the solver at once, through the wakeup pipe, and
    the block still ends in KeyboardInterrupt. Without the pipe stop() comes after the sleep."""
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    stopped: list[float] = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with deferred_interrupt(), interrupting(lambda: stopped.append(time.perf_counter())):
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    sent = time.perf_counter()
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(1.5)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    finally:
        signal.signal(signal.SIGINT, earlier)
    assert stopped and stopped[0] - sent < 0.75, stopped


def _random_model(rows: int, cols: int, options: dict | None = None, seed: int = 0):
    """A HiGHS instance (:func:`optimizer.solvers.highs.make_highs`, ``options``; default IPX)
    holding a random packing LP (max c·x, A·x <= b, 0 <= x <= 1, six entries a column)."""
    import highspy
    import numpy as np
    import scipy.sparse as sp

    from optimizer.solvers import highs
    rng = np.random.default_rng(seed)
    A = sp.csc_matrix((rng.uniform(0.5, 2.0, 6 * cols), (rng.integers(0, rows, 6 * cols), np.repeat(np.arange(cols), 6))),
                      shape=(rows, cols))
    h = highs.make_highs(options or {"solver": "ipx"})
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = cols, rows
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = -rng.uniform(0, 1, cols), np.zeros(cols), np.ones(cols)
    lp.row_lower_, lp.row_upper_ = np.full(rows, -highspy.kHighsInf), rng.uniform(1, 5, rows)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = cols, rows
    h.passModel(lp)
    return h


def test_an_interior_point_run_polls_no_interrupt_callback(monkeypatch):
    """IPX polls HiGHS's interrupt callback thousands of times a solve: our run() turns it off for
    the run (counted: no call) and on again after it (HiGHS's own run then polls it again)."""
    from optimizer.solvers import highs
    calls: list[int] = []
    monkeypatch.setattr(highs, "_callback", lambda kind, *rest: calls.append(int(kind)))
    h = _random_model(400, 4000)
    highs.run(h)
    assert h.getModelStatus().name == "kOptimal" and calls == []
    h.clearSolver()
    h.run()
    assert calls.count(int(highs._CB.kCallbackIpmInterrupt)) > 100


@pytest.mark.parametrize("options", [{"solver": "ipx"}, {"solver": "simplex", "simplex_strategy": 1},
                                     {"solver": "simplex", "simplex_strategy": 4}], ids=["ipx", "dual", "primal"])
@pytest.mark.slow
def test_ctrl_c_stops_a_running_highs_at_once(options):
    """Ctrl-C 0.3 s into a HiGHS run of several seconds (IPX, dual or primal simplex), which polls
    no callback: the watcher turns the interrupt callbacks on and the next iteration stops HiGHS
    (within 0.5 s); KeyboardInterrupt follows as the run returns. With a watcher that does not turn
    them on the run goes on to its 20 s time limit (the simplex runs take minutes)."""
    import threading

    from optimizer.solvers import highs
    h = _random_model(3000, 30000, {**options, "time_limit": 20.0})
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    sent: list[float] = []

    def ctrl_c() -> None:
        time.sleep(0.3)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    try:
        threading.Thread(target=ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            highs.run(h)
    finally:
        signal.signal(signal.SIGINT, earlier)
    assert time.perf_counter() - sent[0] < 0.5
    assert h.getModelStatus().name == "kInterrupt" and not interrupt_requested()


def test_a_wakeup_fd_installed_before_still_gets_sigint():
    """An asyncio-style caller (its own SIGINT handler and wakeup fd) solving in the main thread:
    the watcher's pipe passes every signal byte on, SIGINT's too, so the caller's loop still sees it."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    earlier_fd = signal.set_wakeup_fd(write)
    earlier = signal.signal(signal.SIGINT, lambda signum, frame: None)
    stopped: list[bool] = []
    try:
        with deferred_interrupt(), interrupting(lambda: stopped.append(True)):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)
        assert stopped == [True]
        assert signal.SIGINT in os.read(read, 64)
    finally:
        signal.signal(signal.SIGINT, earlier)
        signal.set_wakeup_fd(earlier_fd)
        os.close(read)
        os.close(write)


def _log_shows(folder: Path, text: str):
    """ready(): the run's log, still under its temporary name, shows ``text``."""
    def ready() -> bool:
        return any(text in p.read_text(errors="replace") for p in folder.glob(".solve.log.tmp-*"))
    return ready


def _interrupted_cleanly(tmp_path: Path, r: subprocess.CompletedProcess, took: float, bound: float) -> None:
    assert r.returncode == 130, r.stderr
    assert lines(r.stderr) == ["interrupted"] and r.stdout == "", r.stderr
    assert took < bound, f"{took:.1f} s from Ctrl-C to exit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet"]     # no plan, no log, no temporaries


@pytest.mark.slow
def test_ctrl_c_stops_a_running_lp_within_seconds(tmp_path):
    """Ctrl-C while HiGHS's interior point method iterates on a 20,000-site fleet (its value stage
    alone takes several seconds more): HiGHS stops at its next iteration."""
    fleet = generate_fleet(tmp_path / "fleet", sites=20000, seed=2)
    r, took = interrupt(["solve", fleet, "--out", tmp_path / "plan", "--log", tmp_path / "solve.log"],
                        _log_shows(tmp_path, "Interior point solve"), timeout=300)
    _interrupted_cleanly(tmp_path, r, took, 3.0)


@pytest.mark.slow
def test_ctrl_c_stops_a_multi_period_cost_stage_within_seconds(tmp_path):
    """Ctrl-C during the column generation of a per-site 12-quarter fleet, whose master rounds poll
    no Python callback (polls_held): the watcher stops the round at its next iteration."""
    fleet = generate_fleet(tmp_path / "fleet", sites=1000, skus=12, seed=1, periods=12, tariffs="site")
    r, took = interrupt(["solve", fleet, "--out", tmp_path / "plan", "--log", tmp_path / "solve.log"],
                        _log_shows(tmp_path, "cost stage: round 20,"), timeout=300)
    _interrupted_cleanly(tmp_path, r, took, 3.0)


@pytest.mark.slow
def test_ctrl_c_stops_an_ortools_child_within_seconds(tmp_path):
    """Ctrl-C while GLOP iterates in the OR-Tools child process (a plain 2,000-site LP that takes
    well over ten seconds): the signal is forwarded, GLOP stops, the child ends and so does the
    command, with nothing written. The bound is below GRACE_SECONDS, so a child that ignores the
    signal and is killed after the grace period fails: that was the case while GLOP held the
    child's main thread and only a Python-level handler watched for SIGINT (5.1 s, killed)."""
    fleet = generate_fleet(tmp_path / "fleet", sites=2000, seed=2)
    r, took = interrupt(["solve", fleet, "--out", tmp_path / "plan", "--log", tmp_path / "solve.log",
                         "--path", "ortools-glop"], _log_shows(tmp_path, "Starting basis"), timeout=300)
    _interrupted_cleanly(tmp_path, r, took, min(3.0, GRACE_SECONDS - 1.0))


@pytest.mark.slow
def test_an_ortools_child_ends_when_its_parent_is_killed(tmp_path):
    """SIGKILL to the planner (which it cannot forward) while GLOP solves in the child: the child
    notices its parent is gone and exits within seconds instead of solving on as an orphan."""
    fleet = generate_fleet(tmp_path / "fleet", sites=2000, seed=2)
    proc = subprocess.Popen([*FLEETOPT, "solve", str(fleet), "--out", str(tmp_path / "plan"), "--log",
                             str(tmp_path / "solve.log"), "--path", "ortools-glop"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready, deadline = _log_shows(tmp_path, "Starting basis"), time.time() + 300
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert children, "no OR-Tools child process"
    proc.kill()
    proc.wait()
    child = Path(f"/proc/{children[0]}")
    deadline = time.time() + 5
    while child.exists() and "Z" not in _state(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not child.exists() or "Z" in _state(child), "the OR-Tools child outlived its parent"


def _state(proc_dir: Path) -> str:
    try:
        return proc_dir.joinpath("stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.slow
def test_ctrl_c_stops_a_running_mip_within_seconds(tmp_path):
    """Ctrl-C during branch and bound (an exact MIP to gap 0 that runs for minutes; HiGHS polls
    its MIP interrupt between nodes, so the bound is looser than the LP's: measured up to 3.0 s
    on 2 cores at load 11, against minutes without the callback)."""
    fleet = generate_fleet(tmp_path / "fleet", sites=500, skus=6, seed=2)
    r, took = interrupt(["solve", fleet, "--out", tmp_path / "plan", "--log", tmp_path / "solve.log", "--integer",
                         "--method", "exact", "--gap", "0"], _log_shows(tmp_path, "B&B Tree"), timeout=120)
    _interrupted_cleanly(tmp_path, r, took, 10.0)


@pytest.mark.slow
def test_ctrl_c_stops_sweep_workers_within_seconds(tmp_path):
    """Two worker processes: Ctrl-C drops the queued chunks and ends the running workers instead
    of waiting for their chunks; the finished variants stay, in a folder a rerun resumes."""
    fleet = generate_fleet(tmp_path / "fleet", sites=200, skus=4, seed=3)
    out = tmp_path / "sweep"
    vary = ["--vary", "max_tier2_country_share=0.04:0.15:0.0025"]
    r, took = interrupt(["sweep", fleet, "--out", out, "--workers", "2", *vary],
                        lambda: any(out.glob("variants/*/result.json")))
    assert r.returncode == 130 and lines(r.stderr) == ["interrupted"], r.stderr
    assert took < 3.0, took
    assert not (out / "results.csv").exists()
    assert folder_kind(out) == "sweep"     # what a rerun resumes (a killed worker's temporaries included)
