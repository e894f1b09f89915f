"""Progress of long work (build, add, eval, uploads): what is being done, how far it is.

Work reports ``Progress`` events to a callback. ``progress=True`` means the console: a tqdm
bar per phase on a terminal (count, rate, time left), and on anything else (a log, a pipe) one
plain line every few seconds. A caller may pass its own callback instead (the web chat and the
upload API turn the same events into their own displays).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TextIO

LINE_SECONDS = 5.0  # off a terminal: a line at least this often while work goes on
TICK_SECONDS = 1.0  # the bar's clock moves even while one step (a file, a batch) takes long

# What a phase is called on the screen; a phase this module does not know shows its key.
LABELS = {
    "model": "Preparing the model",
    "reading": "Reading files",
    "checking": "Checking the files",
    "planning": "Comparing with the index",
    "chunking": "Splitting into passages",
    "embedding": "Embedding",
    "writing": "Writing the index",
    "questions": "Questions",
}


@dataclass(frozen=True)
class Progress:
    """One step of long work: ``done`` of ``total`` ``unit``s of ``phase`` (``total`` None: not known)."""

    phase: str
    done: int = 0
    total: int | None = None
    unit: str = "step"

    @property
    def label(self) -> str:
        return LABELS.get(self.phase, self.phase)

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    def to_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


ProgressFn = Callable[[Progress], None]


def silent(event: Progress) -> None:
    pass


@contextlib.contextmanager
def reporting(progress: bool | ProgressFn | None) -> Iterator[ProgressFn]:
    """The callback to report to: the console's for True (closed when the work ends), the
    caller's own, or one that does nothing."""
    if progress is True:
        console = ConsoleProgress()
        try:
            yield console
        except BaseException:
            console.close(finished=False)  # the error says what happened; no "done" line before it
            raise
        console.close()
    elif callable(progress):
        yield progress
    else:
        yield silent


def _count(n: float, unit: str | None = None) -> str:
    """``n`` with thousands separators, and its unit in the plural unless it is 1."""
    return f"{n:,.0f}" if unit is None else f"{n:,.0f} {unit}{'' if n == 1 else 's'}"


class ConsoleProgress:
    """Progress on stderr: tqdm bars on a terminal, else a plain line every ``interval`` seconds.

    Thread-safe; a clock thread keeps the bar's elapsed time (or the plain lines) going while a
    single step takes long, so the screen never looks stuck."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None,
                 interval: float = LINE_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.interval = interval
        self._lock = threading.Lock()
        self._bar = None
        self._last: Progress | None = None
        self._phase_started = 0.0
        self._line_at = 0.0
        self._stop = threading.Event()
        self._clock = threading.Thread(target=self._tick, name="policyqa-progress", daemon=True)
        self._clock.start()

    def __call__(self, event: Progress) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            if self._last is None or event.phase != self._last.phase:
                self._end_phase()
                self._start_phase(event)
            if self.terminal:
                self._update_bar(event)
            self._last = event
            if not self.terminal and time.monotonic() - self._line_at >= self.interval:
                self._line(event)

    def close(self, finished: bool = True) -> None:
        with self._lock:
            self._stop.set()
            self._end_phase(finished)
            self._last = None

    # -------------------------------------------------------------- inside the lock

    def _start_phase(self, event: Progress) -> None:
        self._phase_started = time.monotonic()
        if self.terminal:
            from tqdm import tqdm

            # A phase that counts nothing (loading the model) shows its clock alone.
            plain = "{desc} … {elapsed}" if event.total is None and not event.done else None
            self._bar = tqdm(total=event.total, desc=event.label, unit=event.unit, file=self.stream,
                             dynamic_ncols=True, mininterval=0.25, leave=True, bar_format=plain)
        else:
            size = f" ({_count(event.total, event.unit)})" if event.total else ""
            self._write(f"policyqa: {event.label}{size} …")

    def _update_bar(self, event: Progress) -> None:
        bar = self._bar
        if event.total != bar.total:
            bar.total = event.total
        bar.update(event.done - bar.n)

    def _end_phase(self, finished: bool = True) -> None:
        if self._bar is not None:
            last = self._last
            if last is not None and last.total and self._bar.n < last.total and last.done >= last.total:
                self._bar.update(last.total - self._bar.n)
            self._bar.close()
            self._bar = None
        elif self._last is not None and not self.terminal and finished:
            last = self._last
            seconds = time.monotonic() - self._phase_started
            counted = f", {_count(last.done, last.unit)}" if last.total else ""
            self._write(f"policyqa: {last.label}: done{counted} in {_clock(seconds)}")

    def _line(self, event: Progress) -> None:
        seconds = time.monotonic() - self._phase_started
        if event.total:
            head = f"{_count(event.done)}/{_count(event.total, event.unit)} ({100 * event.done / event.total:.0f}%)"
        else:
            head = _count(event.done, event.unit)
        parts = [f"policyqa: {event.label}: {head}"]
        if event.done and seconds > 0:
            rate = event.done / seconds
            parts.append(f"{rate:,.1f} {event.unit}s/s")
            if event.total and event.done < event.total:
                parts.append(f"about {_clock((event.total - event.done) / rate)} left")
        parts.append(f"{_clock(seconds)} so far")
        self._write(", ".join(parts))

    def _write(self, line: str) -> None:
        self._line_at = time.monotonic()
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe: progress is not worth failing the work for
            pass

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                if self._stop.is_set() or self._last is None:
                    continue
                if self._bar is not None:
                    self._bar.refresh()
                elif not self.terminal and time.monotonic() - self._line_at >= self.interval:
                    self._line(self._last)


def _clock(seconds: float) -> str:
    from tqdm import tqdm

    return tqdm.format_interval(seconds)
