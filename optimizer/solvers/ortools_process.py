"""The OR-Tools backends (GLOP, PDLP, SCIP), each solve run in a child process.

With the ``hipo`` extra, fleetopt's HiGHS is highspy's HiPO build, whose shared HiGHS library has
the same name as the one OR-Tools bundles: whichever loads second fails to import. So OR-Tools never
loads in the planner's process (with or without the extra, so both installs behave alike):
:func:`solve_in_child` pickles the LP to ``python -P -m optimizer.solvers.ortools_child``
(:mod:`optimizer.solvers.ortools_lp` does the solving there) and reads back its SolveResult.
The child's solver log streams into the active solver log; Ctrl-C is forwarded to the child, which
stops its solver, and is then raised here as KeyboardInterrupt; the child exits when the planner
is gone; a child that fails is a SolverError naming the signal that ended it, or its exit status
and last line of error output. Start-up costs about a second per solve (OR-Tools' import).
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from optimizer.errors import SolverError
from optimizer.model.lp import LinearProgram
from optimizer.progress import deferred_interrupt, interrupt_requested, log_stream, phase, write_log
from optimizer.solvers.contract import Capabilities, SolveOptions, is_mip, refuse_unsupported
from optimizer.solvers.result import SolveResult

GRACE_SECONDS = 5.0     # after a forwarded Ctrl-C, how long the child may take to stop before it is killed
POLL_SECONDS = 0.02


def solve_in_child(name: str, **request) -> SolveResult:
    """Run ``ortools_lp.solve_mip`` (``mip=True``) or ``solve_lp`` with ``request`` as keyword
    arguments in the OR-Tools child process; its result."""
    phase(f"{name} (OR-Tools child process)")
    stream = log_stream()
    with tempfile.TemporaryDirectory(prefix="fleetopt-ortools-") as tmp:
        ask, answer = Path(tmp) / "request.pkl", Path(tmp) / "result.pkl"
        ask.write_bytes(pickle.dumps({**request, "log": stream is not None}, protocol=pickle.HIGHEST_PROTOCOL))
        out = _log_fd(stream)
        with deferred_interrupt():
            # -P: the current folder is not put on the child's path (another optimizer package
            # there must not shadow this one)
            proc = subprocess.Popen([sys.executable, "-P", "-m", "optimizer.solvers.ortools_child", str(ask), str(answer)],
                                    stdout=out if out is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=_child_env())
            try:
                captured, errors = _wait(proc)
            finally:
                if proc.poll() is None:      # anything that ends the wait early ends the child too
                    proc.kill()
                    proc.wait()
        if captured:
            write_log(captured)
        if proc.returncode == 0 and answer.exists():
            return pickle.loads(answer.read_bytes())
    raise SolverError(f"{name}: the OR-Tools child process failed: {_why(proc.returncode, errors)}")


def _why(returncode: int, errors: str) -> str:
    """A failed child in one line: the signal that ended it (with the likely cause for SIGKILL),
    else its exit status and last line of error output."""
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode).name
        except ValueError:
            sig = str(-returncode)
        hint = " (killed: often the system running out of memory)" if returncode == -signal.SIGKILL else ""
        return f"ended by signal {sig}{hint}"
    last = (errors.strip().splitlines() or [""])[-1]
    return f"exit status {returncode}" + (f": {last}" if last else "")


def _log_fd(stream) -> int | None:
    """A file descriptor of the solver log to hand the child as its standard output (flushed
    first), or None (no log, or one without a file behind it: the output is captured instead)."""
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None
    stream.flush()
    return fd


def _child_env() -> dict[str, str]:
    """This environment, with this checkout of fleetopt first on the child's path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _wait(proc: subprocess.Popen) -> tuple[str, str]:
    """Wait for the child, forwarding a Ctrl-C once (and killing it after GRACE_SECONDS);
    its captured standard output (when not a file) and error output."""
    chunks: dict[str, bytes] = {}

    def drain(name: str, pipe) -> None:
        chunks[name] = pipe.read() if pipe is not None else b""

    readers = [threading.Thread(target=drain, args=(k, p), daemon=True) for k, p in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    forwarded = None
    while proc.poll() is None:
        time.sleep(POLL_SECONDS)
        if interrupt_requested() and forwarded is None:
            proc.send_signal(signal.SIGINT)
            forwarded = time.perf_counter()
        if forwarded is not None and time.perf_counter() - forwarded > GRACE_SECONDS:
            proc.kill()
    for r in readers:
        r.join()
    return (chunks.get("out") or b"").decode(errors="replace"), (chunks.get("err") or b"").decode(errors="replace")


class OrToolsBackend:
    """One OR-Tools engine behind the solver contract: GLOP or PDLP (LPs, both stages, duals),
    or SCIP (MIPs, value only); every solve in the OR-Tools child process."""

    def __init__(self, engine: str, capabilities: Capabilities):
        self.name, self.engine, self.capabilities = f"ortools-{engine}", engine, capabilities

    def solve(self, lp: LinearProgram, options: SolveOptions = SolveOptions(),
              integrality: np.ndarray | None = None) -> SolveResult:
        mip = is_mip(integrality)
        refuse_unsupported(self.name, self.capabilities, options, mip)
        if mip:
            return solve_in_child(self.name, mip=True, lp=lp, integrality=integrality, solver=self.engine,
                                  time_limit=options.time_limit, gap=options.gap)
        return solve_in_child(self.name, mip=False, lp=lp, solver=self.engine, time_limit=options.time_limit,
                              lexicographic=options.two_stage)


GLOP = OrToolsBackend("glop", Capabilities(lp=True, duals=True, two_stage=True))
PDLP = OrToolsBackend("pdlp", Capabilities(lp=True, duals=True, two_stage=True))
SCIP = OrToolsBackend("scip", Capabilities(lp=False, mip=True))
