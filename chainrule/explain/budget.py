"""A time budget for the symbolic side of one ``cr.explain`` or ``differentiate`` call.

SymPy's ``simplify`` has no size or time limit: on a short expression it may run for
minutes (``d²/dx² sigmoid(acos(sinh(x)))``).  Numbers never depend on SymPy (they come
from the engine), so symbolic work is optional polish, and each call gets a budget of
seconds for it: work that runs past its deadline is abandoned and the caller falls back
(the unsimplified formula, or no formula), saying so in a note.

Which clock.  The budget is CPU time of the calling thread (the thread's own CPU clock,
``pthread_getcpuclockid``; ``time.thread_time`` reads it from inside), so that other
programs loading the machine do not cut a call short: the same expression gets the same
formula on a busy machine as on an idle one.  Time the thread spends waiting (for a core,
for the GIL held by another thread of a server) is not counted, so a wall-clock limit of
``WALL_FACTOR`` times the CPU limit still bounds every call.  Where a thread's CPU clock
cannot be read from another thread (Windows, macOS), the budget is wall-clock time.

How a running SymPy call is stopped.  A Python-level timeout cannot stop a computation in
the same thread, so the choice was between

* a worker process that is killed at the deadline: clean, but each start costs the SymPy
  import (0.5-1 s with ``spawn``, the only start method on Windows and the default on
  macOS) unless a pool is kept alive, expressions must be pickled both ways, and ``fork``
  is unsafe in a threaded server;
* a cheaper rewrite pipeline in place of ``simplify`` with size guards: still no bound on
  time (``cancel``/``factor``/``trigsimp`` each can blow up), and different formulas;
* an exception raised *in the computing thread* at the deadline, by a watchdog thread
  through CPython's ``PyThreadState_SetAsyncExc`` (the mechanism behind Ctrl-C's
  ``KeyboardInterrupt`` delivery to a thread): no start-up cost, the same formulas when
  there is time, works on every OS and in every thread of a server.

The last is used.  The exception derives from ``BaseException`` so that SymPy's
``except Exception`` blocks do not swallow it, and it is raised again every 0.1 s until
the call returns, for any bare ``except:``.  SymPy keeps no state that such an interruption
can leave half-written except its thread-local ``global_parameters`` (``evaluate``,
``distribute``), which are saved and restored.  A single long C-level step (one huge
integer power) cannot be interrupted; the callers' size guards keep those small.  An
import is never interrupted (the watchdog waits for it to finish), and the modules SymPy
imports on first use are imported before the clock starts.  On an
interpreter without ``ctypes.pythonapi`` (not CPython) nothing is interrupted and the
size guards are the only bound.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

__all__ = ["Budget", "DEFAULT_SECONDS"]

#: Seconds of symbolic work (CPU time of the calling thread) per explain/diff call, unless
#: the call gives its own (``symbolic_budget=``) or the environment variable
#: ``CHAINRULE_SYMBOLIC_BUDGET`` is set (seconds of CPU time, e.g. ``2``).  Formulas that
#: are not simplified within it are shown as differentiated.
DEFAULT_SECONDS = 0.5
ENV = "CHAINRULE_SYMBOLIC_BUDGET"

#: Every deadline also holds in wall-clock time, ``WALL_FACTOR`` times later than in CPU
#: time: a call that waits for a core (or the GIL) still ends, within
#: ``WALL_FACTOR * (budget + grace)`` seconds (2.5 s by default) of wall-clock time.
WALL_FACTOR = 2.5

#: After its deadline a call may still derive, print and evaluate its unsimplified
#: formulas for ``max(GRACE * budget, MIN_GRACE)`` seconds; what is not done by then is
#: shown without a formula.  A call's symbolic work thus ends within
#: ``budget + max(GRACE * budget, MIN_GRACE)`` seconds of CPU time (1 s by default).
GRACE = 1.0
MIN_GRACE = 0.5

_REPEAT = 0.1  # seconds between interruptions of a call that swallowed the first


class _OutOfTime(BaseException):
    """Raised inside the computing thread at its deadline (never seen by callers)."""


try:
    _PYTHONAPI = ctypes.pythonapi
except AttributeError:  # pragma: no cover - not CPython
    _PYTHONAPI = None


def _interrupt(thread_id: int, exc) -> None:
    """Make ``thread_id`` raise ``exc`` at its next bytecode (``None``: withdraw it)."""
    # argtypes are not set on the shared ctypes.pythonapi function (other code may call it).
    _PYTHONAPI.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), None if exc is None else ctypes.py_object(exc)
    )


class Budget:
    """Seconds of symbolic work for one call, shared by all its steps: CPU time of the
    thread that makes the budget (and runs its steps), bounded in wall-clock time too
    (see the module's docstring).

    ``run(fn)`` calls ``fn()`` and returns its result, or ``default`` if the budget runs
    out first (``fn`` is then stopped; with no time left it is not called).
    ``essential=True`` steps (deriving, printing, evaluating the unsimplified formula)
    may also use the grace period after the deadline.  Exceptions from ``fn`` propagate.
    ``exceeded`` tells whether any step was cut short or skipped.

    >>> b = Budget(0.0)
    >>> b.run(lambda: 1 + 1, default="skipped"), b.exceeded
    ('skipped', True)
    """

    def __init__(self, seconds: float | None = None):
        what = "symbolic_budget"
        if seconds is None and os.environ.get(ENV):
            what, seconds = ENV, os.environ[ENV]
            try:
                seconds = float(seconds)
            except ValueError:
                pass
        seconds = DEFAULT_SECONDS if seconds is None else seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"{what} must be a number of seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)
        _import_lazy_modules()
        self.clock = _thread_clock(threading.get_ident())
        hard = self.seconds + max(GRACE * self.seconds, MIN_GRACE)
        cpu, wall = self.clock(), time.monotonic()
        # (clock deadline, wall-clock deadline): for ordinary steps, and for essential ones
        self.deadline = (cpu + self.seconds, wall + WALL_FACTOR * self.seconds)
        self.hard_deadline = (cpu + hard, wall + WALL_FACTOR * hard)
        self.exceeded = False

    def run(self, fn, default=None, essential: bool = False):
        ends = self.hard_deadline if essential else self.deadline
        if _time_left(self.clock, ends) <= 0:
            self.exceeded = True
            return default
        done, value = _run_until(fn, self.clock, ends)
        if not done:
            self.exceeded = True
            return default
        return value


def _thread_clock(thread_id: int):
    """A function reading ``thread_id``'s CPU time, from any thread; ``time.monotonic``
    where the platform has no such clock (the budget is then wall-clock time)."""
    try:
        clock_id = time.pthread_getcpuclockid(thread_id)
        time.clock_gettime(clock_id)
    except (AttributeError, OSError):  # pragma: no cover - Windows, macOS
        return time.monotonic
    return lambda: time.clock_gettime(clock_id)


def _time_left(clock, ends) -> float:
    """Seconds until the first of the deadlines ``(on clock, on the wall clock)``."""
    return min(ends[0] - clock(), ends[1] - time.monotonic())


_LAZY = ("sympy.physics.units", "sympy.physics.units.util")  # simplify() imports them


def _import_lazy_modules() -> None:
    """Import what SymPy imports on first use (over a second, the first time), before
    the clock starts: that is not symbolic work, and an import is never interrupted."""
    import importlib

    for name in _LAZY:
        importlib.import_module(name)


def _importing(thread_id: int) -> bool:
    """Whether ``thread_id`` is inside an import (interrupting it could leave a module
    half-initialised)."""
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _run_until(fn, clock, ends):
    """``(True, fn())``, or ``(False, None)`` if ``fn`` was stopped at the deadlines ``ends``
    (see :func:`_time_left`)."""
    if _PYTHONAPI is None:  # pragma: no cover - not CPython: no way to stop fn
        return True, fn()
    from sympy.core.parameters import global_parameters

    saved = (global_parameters.evaluate, global_parameters.distribute)
    watch = _Watch(threading.get_ident(), clock, ends)
    try:
        try:
            watch.start()
            return True, fn()
        except _OutOfTime:
            return False, None
        finally:
            watch.stop()
    except _OutOfTime:
        # The deadline fell on fn's last instant: the interruption arrived in the lines
        # above after fn returned (watch.stop() is safe to call again).
        watch.stop()
        return False, None
    finally:
        global_parameters.evaluate, global_parameters.distribute = saved


class _Watch:
    """A watchdog thread that interrupts ``thread_id`` from its first deadline on (``ends``,
    see :func:`_time_left`), until stopped.  It sleeps until the nearer deadline could
    have come (a thread's CPU time grows no faster than the wall clock), then looks again."""

    def __init__(self, thread_id: int, clock, ends):
        self.thread_id = thread_id
        self.clock = clock
        self.ends = ends
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="chainrule-budget")

    def start(self) -> None:
        self.thread.start()

    def _watch(self) -> None:
        wait = _time_left(self.clock, self.ends)
        while not self.stopped.wait(max(wait, 0.0)):
            wait = _time_left(self.clock, self.ends)
            if wait > 0:
                continue
            if _importing(self.thread_id):
                wait = 0.01  # after the import
                continue
            _interrupt(self.thread_id, _OutOfTime)
            wait = _REPEAT

    def stop(self) -> None:
        """Stop the watchdog; afterwards no interruption is pending or can come."""
        while True:
            try:
                self.stopped.set()
                if self.thread.is_alive():
                    self.thread.join()
                # An interruption set just before the watchdog stopped and not yet
                # delivered is withdrawn (NULL clears it).
                _interrupt(self.thread_id, None)
                return
            except _OutOfTime:
                continue
