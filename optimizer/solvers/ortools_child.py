"""The OR-Tools child process: ``python -m optimizer.solvers.ortools_child REQUEST RESULT``.

Loads OR-Tools first (before anything could load highspy, see :mod:`optimizer`), solves the
request that the parent pickled (:func:`optimizer.solvers.ortools_process.solve_in_child`) and
pickles the :class:`~optimizer.solvers.result.SolveResult`. Its solver log goes to its standard
output, which the parent points at its own solver log. Ctrl-C (from the terminal or forwarded
by the parent) stops the solver; the child then exits with INTERRUPTED and writes nothing.
"""
from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from pathlib import Path

from ortools.linear_solver.python import model_builder_helper  # noqa: F401  (first: see above)

INTERRUPTED = 130


def _end_with_parent(every: float = 0.5) -> None:
    """Exit as soon as the parent process is gone (killed by SIGTERM or SIGKILL, which it cannot
    forward): a watcher thread, which runs while OR-Tools solves (it releases the GIL)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(INTERRUPTED)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    _end_with_parent()
    from optimizer.progress import solver_log
    from optimizer.solvers import ortools_lp
    request, result_path = pickle.loads(Path(argv[0]).read_bytes()), Path(argv[1])
    call = ortools_lp.solve_mip if request.pop("mip") else ortools_lp.solve_lp
    log = sys.stdout if request.pop("log") else None
    try:
        if log is None:
            result = call(**request)
        else:
            with solver_log(log):
                result = call(**request)
    except KeyboardInterrupt:
        return INTERRUPTED
    partial = result_path.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(result_path)         # the parent never reads a half-written result
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
