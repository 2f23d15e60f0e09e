"""Whose turn it is on the one engine: clients take turns, and the queue has a bound.

Each client (by address) has its own line; turns go round the clients, so one client
that sends twenty requests does not keep a second one waiting for all of them. A request
that finds the queue full is refused at once (the server answers 503 with Retry-After).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class QueueFull(Exception):
    pass


class FairQueue:
    """One request at a time, `capacity` waiting at most. Used from one event loop."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._busy = False
        self._lines: dict[str, deque[asyncio.Future[None]]] = {}
        self._order: deque[str] = deque()

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    @asynccontextmanager
    async def turn(self, client: str) -> AsyncIterator[None]:
        """Wait for this client's turn (QueueFull when too many are waiting); the turn
        passes on when the block ends, however it ends."""
        await self.acquire(client)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, client: str) -> None:
        if not self._busy and not self._order:
            self._busy = True
            return
        if self.waiting >= self.capacity:
            raise QueueFull()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._lines.setdefault(client, deque())
        line.append(future)
        if client not in self._order:
            self._order.append(client)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the turn came just as the client left: pass it on
            else:
                self._forget(client, future)
            raise

    def release(self) -> None:
        while self._order:
            client = self._order.popleft()
            line = self._lines.get(client)
            if not line:
                self._lines.pop(client, None)
                continue
            future = line.popleft()
            if line:
                self._order.append(client)  # its next request waits for the others
            else:
                del self._lines[client]
            if not future.done():
                future.set_result(None)
                return
        self._busy = False

    def _forget(self, client: str, future: asyncio.Future[None]) -> None:
        line = self._lines.get(client)
        if line is not None and future in line:
            line.remove(future)
            if not line:
                del self._lines[client]
                if client in self._order:
                    self._order.remove(client)
