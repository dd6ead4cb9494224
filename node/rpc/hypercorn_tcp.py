"""hypercorn 0.18's trio connection handler with two per-request costs taken out.

Profiles of single keep-alive requests (docs/benchmarks.md, "JSON-RPC") put two costs in
hypercorn's `trio/tcp_server.py` that are not HTTP work:
- the keep-alive idle timer: for every request hypercorn cancels the connection's idle task
  and starts a new one with `nursery.start` (a task spawn and several scheduler steps). Here
  one watcher task per connection sleeps in a cancel scope whose deadline each request moves
  (to infinity while a request runs, to now + keep_alive_timeout when the connection is idle);
- two `send` syscalls per response: h11 serializes the head and the body as separate events
  and hypercorn writes each. On loopback each send runs the receiver's TCP stack inline, so
  the head is held back and written with the first body bytes. An informational (1xx) head is
  written at once (a client waiting for `100 Continue` must get it), and anything held is
  written before any other event (close, idle, a pipelined request).

hypercorn's trio worker looks `TCPServer` up in `hypercorn.trio.run` when it accepts a
connection (once per server, as it starts); `use()` points that name at this subclass or
back at hypercorn's own, so the benches can compare both in one process.
"""

from __future__ import annotations

import math
from typing import Any

import hypercorn.trio.run as hypercorn_trio_run
import trio
from hypercorn.events import Event, RawData
from hypercorn.trio.tcp_server import TCPServer

# h11 writes a response head as its own bytes, starting with the status line.
_FINAL_HEAD = b"HTTP/1.1 "


class _IdleDeadline:
    """Stands in for hypercorn's `TrioSingleTask` as the connection's idle timer.

    hypercorn calls `restart` when the connection turns idle (and once at the start) and
    `stop` when a request begins."""

    def __init__(self, server: LeanTCPServer) -> None:
        self._server = server
        self._scope: trio.CancelScope | None = None
        self._idle = True
        self._ended = False

    def _idle_deadline(self) -> float:
        if self._server.context.terminated.is_set():
            return -math.inf  # the server is stopping: close as soon as the connection is idle
        return trio.current_time() + float(self._server.config.keep_alive_timeout)

    async def restart(self, task_group: Any, action: Any) -> None:
        self._idle = True
        if self._scope is None:
            await task_group._nursery.start(self._watch)
        else:
            self._scope.deadline = self._idle_deadline()

    async def stop(self) -> None:
        self._idle = False
        if self._scope is not None:
            self._scope.deadline = math.inf

    def end(self) -> None:
        """The connection's reading ended (the client left, or read_timeout): stop watching.
        hypercorn's idle task stayed until the keep-alive timeout, or for ever while a
        request stood open (its task was stopped, ours would wait on an infinite deadline)."""
        self._ended = True
        if self._scope is not None:
            self._scope.cancel()

    async def _watch(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        started = False
        while True:
            with trio.CancelScope(
                deadline=self._idle_deadline() if self._idle else math.inf
            ) as scope:
                self._scope = scope
                if not started:
                    started = True
                    task_status.started()
                await self._server.context.terminated.wait()
                if self._idle:
                    break
                # Stopping with a request in progress: `restart` moves the deadline to the
                # past when it ends.
                await trio.sleep_forever()
            if self._ended:
                return
            # The deadline passed. A request that began in the same instant keeps the
            # connection; the next idle period gets a new deadline.
            if self._idle:
                break
        with trio.CancelScope(shield=True):
            await self._server.close_idle()


class LeanTCPServer(TCPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_task = _IdleDeadline(self)  # type: ignore[assignment]
        self._held_head: bytes | None = None

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, RawData):
            data = event.data
            if self._held_head is not None:
                data, self._held_head = self._held_head + data, None
            elif data.startswith(_FINAL_HEAD) and data[9:10] != b"1":
                self._held_head = data
                return
            if data:
                await super().protocol_send(RawData(data=data))
            return
        if self._held_head is not None:
            head, self._held_head = self._held_head, None
            await super().protocol_send(RawData(data=head))
        await super().protocol_send(event)

    async def _read_data(self) -> None:
        try:
            await super()._read_data()
        finally:
            self.idle_task.end()  # type: ignore[attr-defined]

    async def close_idle(self) -> None:
        await self._initiate_server_close()


HYPERCORN_TCP_SERVER = TCPServer


def use(lean: bool) -> None:
    """Choose the connection handler of hypercorn trio servers started from now on."""
    handler = LeanTCPServer if lean else HYPERCORN_TCP_SERVER
    hypercorn_trio_run.TCPServer = handler  # type: ignore[attr-defined]
