"""Retention: keep the history within the user's limits (days and/or count, off by default),
trimming and reclaiming space at quiet moments on whatever asyncio loop hosts the app.

Quiet means no delivery was written for QUIET_S seconds: a Compass burst (every pending
WebhookData at each one-minute poll) is never slowed by a trim. Trims run in chunks on the
store's writer thread anyway (EventStore.trim), so even a trim that starts just before a
burst delays a delivery by one chunk at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable

from compass_listener.store.events import EventStore, StoreError

log = logging.getLogger(__name__)

QUIET_S = 5.0
INTERVAL_S = 3600.0


@dataclass(frozen=True)
class Retention:
    keep_days: int = 0          # 0: no age limit
    keep_count: int = 0         # 0: no count limit

    @property
    def active(self) -> bool:
        return self.keep_days > 0 or self.keep_count > 0

    def stricter_than(self, other: "Retention") -> bool:
        """True when this limit can delete rows that `other` would keep (turned on or
        lowered), i.e. when the user should be offered an export first."""
        def tighter(new: int, old: int) -> bool:
            return new > 0 and (old == 0 or new < old)
        return tighter(self.keep_days, other.keep_days) or \
            tighter(self.keep_count, other.keep_count)

    def describe(self) -> str:
        parts = []
        if self.keep_days:
            parts.append(f"{self.keep_days} day{'s' if self.keep_days != 1 else ''}")
        if self.keep_count:
            parts.append(f"{self.keep_count} deliveries")
        return " and ".join(parts) if parts else "everything"


class RetentionKeeper:
    """Trims the store to policy() now and then; trim_soon() after the policy changed."""

    def __init__(self, store: EventStore, policy: Callable[[], Retention],
                 interval: float = INTERVAL_S, quiet: float = QUIET_S):
        self.store = store
        self.policy = policy
        self.interval = interval
        self.quiet = quiet
        self.last_trimmed = 0           # rows deleted by the last pass, for the tests and logs
        self.passes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._started_at = 0.0

    def start(self) -> None:
        if self._task is None:
            # Start-up counts as busy: Compass delivers its backlog to a listener that just
            # came back, and the first trim of an old file may need a full VACUUM.
            self._started_at = time.monotonic()
            self._task = asyncio.ensure_future(self._run())

    def trim_soon(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            await self._wait_quiet()
            try:
                await self.run_once()
            except StoreError as exc:
                # The listener reports write problems to the user; here a log line is enough,
                # the next pass tries again.
                log.warning("retention could not trim the history: %s", exc)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    async def _wait_quiet(self) -> None:
        while True:
            idle = time.monotonic() - max(self.store.last_write_at, self._started_at)
            if idle >= self.quiet:
                return
            await asyncio.sleep(self.quiet - idle)

    async def run_once(self) -> int:
        """One pass: trim to the current policy, then give the space back."""
        policy = self.policy()
        deleted = 0
        if policy.active:
            deleted = await self.store.trim(policy.keep_days, policy.keep_count)
            if deleted:
                await self.store.reclaim()
                log.info("retention (%s) deleted %d deliveries", policy.describe(), deleted)
        self.last_trimmed = deleted
        self.passes += 1
        return deleted
