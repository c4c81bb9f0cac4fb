"""Guards around running a user's file: a time limit, and os._exit turned into an error.

Not a sandbox: apps.d files run with the user's rights, like a Makefile. These turn two
mistakes into a located message: an endless loop (the build would hang with no word) and a
stray `os._exit(...)` (the build would end at once, with its status and nothing said).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from klaster_build.errors import Mistake, UserError

TIME_LIMIT_VARIABLE = "KLASTER_LOAD_TIMEOUT"
DEFAULT_TIME_LIMIT = 30.0
# After the first alarm, again this often: a file whose alarm was dropped (it landed in a
# finalizer, which drops exceptions) still stops. One that catches everything (a bare `except:`
# in its loop) swallows each of them, and Ctrl-C too: only a kill stops that.
_AGAIN_AFTER = 1.0


class TimeLimitExceeded(BaseException):
    """The user's file ran longer than the limit (not an Exception: `except Exception` in the
    user's loop must not swallow it)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class ProcessExit(BaseException):
    """The user's file called os._exit(status)."""

    def __init__(self, status: object) -> None:
        super().__init__(status)
        self.status = status


def time_limit() -> float | None:
    """Seconds a file may run ($KLASTER_LOAD_TIMEOUT, default 30); None for no limit (0)."""
    raw = os.environ.get(TIME_LIMIT_VARIABLE)
    if raw is None:
        return DEFAULT_TIME_LIMIT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 1e6:  # NaN and inf fail this too
        raise UserError(
            Mistake(
                "must be a number of seconds (0: no limit)",
                record=TIME_LIMIT_VARIABLE,
                got=repr(raw),
            )
        )
    return seconds or None


# Threads a user's file started that were still running when it ended: klaster exits without
# waiting for them (cli.main), as it would if they were daemon threads.
STRAY_THREADS: set[threading.Thread] = set()


@contextlib.contextmanager
def guarded(seconds: float | None) -> Iterator[None]:
    """Run the body with `os._exit` raising ProcessExit, its print() going to stderr (stdout is
    klaster's: `--json`), the threads it leaves running noted in STRAY_THREADS and, when
    `seconds` is set and this is the main thread (signals reach only it), TimeLimitExceeded
    raised where the body is after `seconds`."""
    before = set(threading.enumerate())
    try:
        with _exit_refused(), _alarm(seconds), contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        STRAY_THREADS.update(
            t for t in threading.enumerate() if t not in before and not t.daemon and t.is_alive()
        )


@contextlib.contextmanager
def _exit_refused() -> Iterator[None]:
    # `os._exit` is the platform module's `_exit` (posix): a file may import either.
    modules: list[Any] = [os, sys.modules[os.name]]
    originals = [module._exit for module in modules]
    pid = os.getpid()

    def refuse(status: int) -> None:
        if os.getpid() != pid:  # a child the file forked (multiprocessing) ends as it means to
            originals[0](status)
        raise ProcessExit(status)

    for module in modules:
        module._exit = refuse
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module._exit = original


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    if (
        seconds is None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded(seconds)

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, expired)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN_AFTER)
    try:
        yield
    finally:
        _stop(previous_handler)
        if previous_delay:  # someone else's alarm (a test runner's timeout) keeps running
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), previous_interval)


def _stop(handler: Callable[[int, FrameType | None], Any] | int | None) -> None:
    """Disarm the alarm and put `handler` back, even when the alarm fires meanwhile."""
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, handler or signal.SIG_DFL)
            return
        except TimeLimitExceeded:  # the body is over: a late alarm changes nothing
            continue
