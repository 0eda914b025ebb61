"""Requests that arrive together are answered together: a small queue and one batching thread.

Every HTTP request thread puts its conversation on the queue and waits for its future.
The batching thread takes the first waiting request, gathers whatever else arrives within
a short window (up to max_batch), and answers them in one call per token budget; the
generation path sorts that call's prompts by length and splits them into batches as it
did at evaluation, so the same inputs arriving together get exactly the evaluated answers.
One thread owns the model, so two requests never generate on it at once. A full queue
refuses new work at once instead of letting latency grow without bound.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from studio.serving.engine import Answer

AnswerMany = Callable[[list[list[dict]], int], list[Answer]]


class Busy(RuntimeError):
    """The queue is full: the client should retry shortly."""


@dataclass(frozen=True)
class Pending:
    conversation: list[dict]
    max_new_tokens: int
    future: Future = field(default_factory=Future, compare=False)


@dataclass
class BatchStats:
    """What the batching thread has done, for the bench and the server's /health."""

    batches: int = 0
    answered: int = 0
    largest: int = 0


class Batcher:
    """Collects requests into batches for `answer_many(conversations, max_new_tokens)`."""

    def __init__(self, answer_many: AnswerMany, max_batch: int = 64, window_s: float = 0.02, max_waiting: int = 256):
        self._answer_many = answer_many
        self._max_batch, self._window_s = max_batch, window_s
        self._queue: queue.Queue[Pending | None] = queue.Queue(maxsize=max_waiting)
        self._thread = threading.Thread(target=self._loop, name="studio-batcher", daemon=True)
        self.stats = BatchStats()

    def start(self) -> Batcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(self, conversation: list[dict], max_new_tokens: int) -> Future:
        pending = Pending(conversation, max_new_tokens)
        try:
            self._queue.put_nowait(pending)
        except queue.Full:
            raise Busy(f"{self._queue.maxsize} requests are already waiting; retry shortly") from None
        return pending.future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._answer(batch)
            if stopping:
                return

    def _gather(self, first: Pending) -> tuple[list[Pending], bool]:
        """The first request and those arriving within the window, up to a batch; True when told to stop."""
        batch, deadline = [first], time.monotonic() + self._window_s
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _answer(self, batch: list[Pending]) -> None:
        for budget in sorted({p.max_new_tokens for p in batch}):
            group = [p for p in batch if p.max_new_tokens == budget and p.future.set_running_or_notify_cancel()]
            if not group:
                continue
            try:
                answers = self._answer_many([p.conversation for p in group], budget)
            except Exception as error:  # noqa: BLE001 - each waiting request must hear of it, and the thread must live
                traceback.print_exc(file=sys.stderr)
                for pending in group:
                    pending.future.set_exception(error)
                continue
            for pending, answer in zip(group, answers):
                pending.future.set_result(answer)
            self.stats.batches += 1
            self.stats.answered += len(group)
            self.stats.largest = max(self.stats.largest, len(group))
