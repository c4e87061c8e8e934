"""What a running solve tells its watcher, and how Ctrl-C reaches a solver that is busy.

Phases: the library names each phase as it starts (``phase("value stage")``); whoever runs it
(the CLI's status line) listens with :func:`watching`, and without a listener a phase costs one
list lookup. Solver log: :func:`solver_log` routes the solvers' own log lines to a text stream
(``solve --log FILE``); without one, the solvers stay silent.

Ctrl-C: inside :func:`deferred_interrupt` (around a solver's run, which holds the main thread in
C++), SIGINT only sets a flag; the solver polls :func:`interrupt_requested` from its iteration
callbacks and stops, and the context raises KeyboardInterrupt once the solver has returned, so
the interrupt never unwinds through the solver's own frames.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Callable, Iterator, TextIO

Listener = Callable[[str, float], None]      # (phase, seconds since the listener started)

_listeners: list[tuple[Listener, float]] = []
_logs: list[TextIO] = []
_prefixes: list[str] = []
_interrupted = threading.Event()


SOLVER_LOG_MARK = "[fleetopt] "     # every line fleetopt writes into a solver log starts so
SOLVER_LOG_HEADER = SOLVER_LOG_MARK + "solver log\n"   # a --log file's first line (an older log began "[fleetopt] load")


def phase(name: str) -> None:
    """Tell every listener that the phase ``name`` starts now (prefixed by any :func:`section`)."""
    if not _listeners and not _logs:
        return
    full = ": ".join([*_prefixes, name])
    now = time.perf_counter()
    for listener, started in list(_listeners):
        listener(full, now - started)
    for stream in _logs:
        stream.write(f"{SOLVER_LOG_MARK}{full}\n")
        stream.flush()


@contextlib.contextmanager
def _pushed(stack: list, item: object) -> Iterator[None]:
    """Keep ``item`` on ``stack`` while the block runs (nested blocks stack up, innermost last)."""
    stack.append(item)
    try:
        yield
    finally:
        stack.remove(item)


def watching(listener: Listener) -> contextlib.AbstractContextManager[None]:
    """Call ``listener(phase, elapsed)`` at each phase started inside the block."""
    return _pushed(_listeners, (listener, time.perf_counter()))


def section(name: str) -> contextlib.AbstractContextManager[None]:
    """Phases inside the block are shown as ``name: phase`` (e.g. the baseline's own solve)."""
    return _pushed(_prefixes, name)


def solver_log(stream: TextIO) -> contextlib.AbstractContextManager[None]:
    """Send the solvers' log lines (and the phase markers) to ``stream`` inside the block."""
    return _pushed(_logs, stream)


def log_stream() -> TextIO | None:
    """The stream the solvers log to now, or None (solvers stay silent)."""
    return _logs[-1] if _logs else None


def write_log(text: str) -> None:
    """Append a solver's log text to the active log stream (no-op without one)."""
    stream = log_stream()
    if stream is not None:
        stream.write(text)
        stream.flush()


def interrupt_requested() -> bool:
    """True once Ctrl-C arrived inside :func:`deferred_interrupt` (solver callbacks poll this)."""
    return _interrupted.is_set()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold SIGINT as a flag while the block runs (a solver's run); raise KeyboardInterrupt as
    the block ends if it came. Only where Python's own handler is installed and in the main
    thread (elsewhere, e.g. a shell that started us with SIGINT ignored, nothing changes)."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    _interrupted.clear()
    signal.signal(signal.SIGINT, lambda signum, frame: _interrupted.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _interrupted.is_set():
        _interrupted.clear()
        raise KeyboardInterrupt


class StatusLine:
    """A listener showing the phase and the elapsed time on ``stream`` (stderr): ``live`` (a
    terminal) redraws one line in place every REFRESH seconds and erases it at the end, so the
    command's own lines follow on a clean line; otherwise one plain line per phase."""

    REFRESH = 0.2

    def __init__(self, stream: TextIO, live: bool, label: str):
        self.stream, self.live, self.label = stream, live, label
        self.started = self.phase_started = time.perf_counter()
        self.phase = "starting"
        self._lock = threading.Lock()
        self._done = threading.Event()

    def __call__(self, name: str, elapsed: float) -> None:
        with self._lock:
            self.phase, self.phase_started = name, time.perf_counter()
            if not self.live:
                self.stream.write(f"{self.label}: {name} (at {time.perf_counter() - self.started:.1f} s)\n")
                self.stream.flush()
        if self.live:
            self._draw()

    def _draw(self) -> None:
        now = time.perf_counter()
        text = f"{self.label}: {self.phase}  {now - self.phase_started:.1f} s  (total {now - self.started:.1f} s)"
        width = max(20, _columns(self.stream) - 1)      # a wrapped line could not be redrawn in place
        with self._lock:
            if not self._done.is_set():
                self.stream.write(f"\r\x1b[2K{text[:width]}")
                self.stream.flush()

    def _tick(self) -> None:
        while not self._done.wait(self.REFRESH):
            self._draw()

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        """Listen to the phases inside the block; a live line is erased when the block ends."""
        ticker = threading.Thread(target=self._tick, daemon=True) if self.live else None
        if ticker is not None:
            ticker.start()
        try:
            with watching(self):
                yield
        finally:
            self._done.set()
            if ticker is not None:
                ticker.join()
                with self._lock:
                    self.stream.write("\r\x1b[2K")
                    self.stream.flush()


def _columns(stream: TextIO) -> int:
    """The terminal's width (80 when it cannot be asked or says 0)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


@contextlib.contextmanager
def console_to_log() -> Iterator[None]:
    """While a solver that can only print its log runs (OR-Tools), point the process's standard
    output (fd 1) at the solver log, so its lines go there and never into the command's output;
    nothing changes when no log (with a file behind it) is active."""
    stream = log_stream()
    try:
        target = stream.fileno() if stream is not None else None
    except (OSError, ValueError, AttributeError):
        target = None
    if target is None:
        yield
        return
    import ctypes
    import sys
    sys.stdout.flush()
    stream.flush()
    saved = os.dup(1)
    os.dup2(target, 1)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)       # the solver's C buffers, into the log
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def interrupting(stop: Callable[[], None], every: float = 0.05) -> Iterator[None]:
    """For a solver that releases the GIL and can be stopped from another thread (OR-Tools'
    ``interrupt_solve``; HiGHS with its interrupt callback turned on, whose call then runs
    Python's handler and sees :func:`interrupt_requested`): call ``stop()`` as soon as Ctrl-C
    arrives inside the block (use it inside :func:`deferred_interrupt`).

    Python runs a signal handler only when the main thread executes bytecode, and such a solver
    holds the main thread in C++ without calling back (GLOP: the child was killed after its
    grace period, 5 s, instead). So the watcher also reads SIGINT from Python's signal wakeup
    pipe (:func:`_signal_pipe`), where the C-level handler writes it at once."""
    done = threading.Event()
    with _signal_pipe() as sigint_arrived:
        def watch() -> None:
            while not done.wait(every):
                if sigint_arrived() or interrupt_requested():
                    stop()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()


@contextlib.contextmanager
def _signal_pipe() -> Iterator[Callable[[], bool]]:
    """Inside the block (main thread only; elsewhere the check is always False) Python's signal
    wakeup fd is a non-blocking pipe; yields a check, for one other thread, that SIGINT's number
    came through it. Every byte, SIGINT's too, goes on to the wakeup fd installed before (an
    asyncio loop's, say, whose own SIGINT handler must still run), which is restored at the end
    (with its full-buffer warning on)."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    read, write = os.pipe()
    try:
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        earlier = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        try:
            yield lambda: _sigint_in(read, earlier)
        finally:
            signal.set_wakeup_fd(earlier)
    finally:
        os.close(read)
        os.close(write)


def _sigint_in(read: int, earlier: int) -> bool:
    """Whether SIGINT's number is among the bytes waiting in the pipe ``read``; all of them are
    passed on to ``earlier`` (best effort; -1: none)."""
    try:
        data = os.read(read, 512)
    except BlockingIOError:
        return False
    if data and earlier != -1:
        with contextlib.suppress(OSError):
            os.write(earlier, data)
    return signal.SIGINT in data
