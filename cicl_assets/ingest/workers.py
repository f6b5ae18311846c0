"""Parser processes that may die: each works on one item at a time, so a process that crashes
(a native parser's segfault, ``os.abort``, the out-of-memory killer) or overruns its deadline
takes only its own item with it; it is replaced and the other items go on.

Unlike a ``ProcessPoolExecutor``, whose every pending future fails when one worker dies, the
parent here knows which item each process holds. A worker may report progress on its item
(``progress(value)``): the parent keeps the last value for the item's ``Lost`` record, and an
item's deadline applies only until its first progress report (the read, not the parse).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any

Work = Callable[[Any, Any, Callable[[Any], None]], Any]  # (setup, item, progress) -> result


@dataclass(frozen=True)
class Lost:
    """An item whose process died or overran its deadline before it had a result."""

    reason: str  # "was killed by SIGSEGV (signal 11)", "made no progress within 120 s", ...
    progress: Any  # the last progress value the process reported for the item, or None
    timed_out: bool = False


def _serve(conn: Connection, work: Work, setup: Any) -> None:
    while True:
        message = conn.recv()
        if message is None:
            return  # asked to stop
        try:
            result = work(setup, message, lambda value: conn.send(("progress", value)))
        except BaseException as exc:  # the item fails; the process serves the next one
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("done", result))


def death(exitcode: int | None) -> str:
    """How a process ended, said after 'the process': 'was killed by SIGSEGV (signal 11)'."""
    if exitcode is None:
        return "was stopped"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "a signal"
        return f"was killed by {name} (signal {-exitcode})"
    return f"exited with status {exitcode}"


class _Worker:
    def __init__(self, context: BaseContext, work: Work, setup: Any):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, work, setup), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.deadline: float | None = None
        self.progress: Any = None

    def give(self, index: int, item: Any, deadline_s: float | None) -> None:
        self.index, self.progress = index, None
        self.deadline = None if deadline_s is None else time.monotonic() + deadline_s
        self.conn.send(item)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def run_isolated(
    work: Work,
    setup: Any,
    items: Sequence[Any],
    *,
    processes: int,
    context: BaseContext,
    deadline_s: float | None = None,
) -> Iterator[Any]:
    """``work(setup, item, progress)`` for each item in ``processes`` processes; yields each
    result, or a ``Lost``, in item order. An exception in ``work`` yields a ``Lost`` too."""
    results: dict[int, Any] = {}
    next_item = next_result = 0
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    try:
        while next_result < len(items):
            while next_item < len(items) and len(busy) < processes:
                worker = _alive(idle) or _Worker(context, work, setup)
                try:
                    worker.give(next_item, items[next_item], deadline_s)
                except OSError:  # it died between two items: the item goes to a new one
                    worker.kill()
                    worker = _Worker(context, work, setup)
                    worker.give(next_item, items[next_item], deadline_s)
                busy.append(worker)
                next_item += 1
            deadlines = [w.deadline for w in busy if w.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
            for worker in list(busy):
                finished = _collect(worker, ready, results, deadline_s)
                if finished:
                    busy.remove(worker)
                    if worker.process.is_alive():
                        idle.append(worker)
            while next_result in results:
                yield results.pop(next_result)
                next_result += 1
    finally:
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()


def _alive(idle: list[_Worker]) -> _Worker | None:
    while idle:
        worker = idle.pop()
        if worker.process.is_alive():
            return worker
        worker.kill()
    return None


def _collect(
    worker: _Worker, ready: set[Any], results: dict[int, Any], deadline_s: float | None
) -> bool:
    """Take what the worker sent; True when its item is finished (done, failed or lost)."""
    index = worker.index
    assert index is not None
    if worker.conn in ready or worker.process.sentinel in ready:
        try:
            while worker.conn.poll():
                kind, value = worker.conn.recv()
                if kind == "progress":
                    worker.progress, worker.deadline = value, None
                    continue
                results[index] = (
                    value if kind == "done" else Lost(f"raised {value}", worker.progress)
                )
                return True
        except (EOFError, OSError):
            pass  # the process died mid-message: the sentinel says how
        if not worker.process.is_alive() or worker.process.sentinel in ready:
            worker.process.join()
            results[index] = Lost(death(worker.process.exitcode), worker.progress)
            worker.kill()
            return True
    if worker.deadline is not None and time.monotonic() >= worker.deadline:
        worker.kill()
        results[index] = Lost(f"made no progress within {deadline_s:.0f} s", None, timed_out=True)
        return True
    return False
