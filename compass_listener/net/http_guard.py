"""Connection-level defences of the listener: deadlines for slow clients, JSON replies for
requests too malformed to reach a handler, and room for many idle connections.

aiohttp has no timeout for reading a request's headers: a client that opens a connection
and sends one byte a minute would hold it (and a file descriptor) for an hour. Here every
connection gets a header deadline, measured like nginx's client_header_timeout: from the
connection (or from the first byte of the next request on a kept-alive connection) until
the request's headers are complete. The body deadline is applied by the listener's handler
while it reads the body (a handler that is storing a delivery must never be cut off), and
idle kept-alive connections close after `idle_timeout`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from compass_listener.core.text import one_line

log = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT = 30.0
DEFAULT_BODY_TIMEOUT = 60.0
DEFAULT_IDLE_TIMEOUT = 75.0
# aiohttp's own defaults, kept on purpose: Compass sends a handful of short headers, and
# raising them would let each hostile connection hold 128 x the limit in memory.
DEFAULT_MAX_FIELD_SIZE = 8190
DEFAULT_MAX_HEADERS = 128


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take, and how large its request head may be."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT   # connect/first byte -> headers complete
    body_timeout: float = DEFAULT_BODY_TIMEOUT       # headers complete -> body complete
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT       # kept-alive connection with no request
    max_field_size: int = DEFAULT_MAX_FIELD_SIZE     # one header line, and the request line
    max_headers: int = DEFAULT_MAX_HEADERS

    def server_kwargs(self) -> dict[str, Any]:
        """The aiohttp request-handler settings these limits stand for."""
        return {"keepalive_timeout": self.idle_timeout,
                "max_field_size": self.max_field_size,
                "max_line_size": self.max_field_size,
                "max_headers": self.max_headers,
                # After an early reply (413, 408) aiohttp reads and drops the rest of the
                # body so the client sees the reply; never longer than a body may take.
                "lingering_time": min(10.0, self.body_timeout)}


def json_reply_bytes(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 reply with a JSON message, for when no handler can answer."""
    body = json.dumps({"message": message}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class GuardedRequestHandler(RequestHandler):
    """aiohttp's HTTP/1.1 protocol with a header deadline and JSON error replies."""

    def __init__(self, manager: "GuardedServer", *, limits: ConnectionLimits, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0          # bytes of the request head received so far
        self._between_requests = False

    # ---- the header deadline ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_bytes = 0
        self._head_timer = self._loop.call_later(self._limits.header_timeout,
                                                 self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        if self._between_requests and data:
            # The first byte of the next request on a kept-alive connection.
            self._between_requests = False
            self._arm_head_timer()
        if self._head_timer is not None:
            self._head_bytes += len(data)
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:
            self._cancel_head_timer()     # the headers are complete (or answered as an error)

    async def finish_response(self, request, resp, start_time):
        result = await super().finish_response(request, resp, start_time)
        if self._messages:
            self._cancel_head_timer()     # a pipelined request's head is already here
        else:
            self._between_requests = True
        if resp.status == 408:
            # We gave up on a slow body: close now rather than keep draining it.
            self.force_close()
        return result

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is None:
            return
        peer = self.transport.get_extra_info("peername")
        if self._head_bytes:
            log.info("closed a connection from %s: its request headers did not arrive "
                     "within %g s", peer, self._limits.header_timeout)
            self.transport.write(json_reply_bytes(
                408, "Request Timeout",
                f"the request headers did not arrive within {self._limits.header_timeout:g} "
                f"seconds; the connection is closed"))
        else:
            log.debug("closed an idle connection from %s after %g s without a request",
                      peer, self._limits.header_timeout)
        self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    # ---- requests that never reach a handler ---------------------------------------------
    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # A client's malformed request, not our bug: a JSON reply like every other one,
        # and a log line without a traceback.
        if request.writer.output_size > 0:
            raise ConnectionError("a reply was already sent on this connection")
        status, text = self._explain(exc)
        log.info("answered %s to a malformed request from %s: %s", status, request.remote,
                 one_line(exc.message, 200))     # one log line, whatever the client sent
        resp = web.Response(status=status, text=json.dumps({"message": text}),
                            content_type="application/json")
        resp.force_close()
        return resp

    def _explain(self, exc: HttpProcessingError) -> tuple[int, str]:
        limit = self._limits.max_field_size
        if isinstance(exc, LineTooLong):
            return 431, (f"a request header (or the request line) is longer than {limit} "
                         f"bytes, this listener's limit; Compass sends short headers, so "
                         f"check what else posts to this address")
        if "Too many headers" in exc.message:
            return 431, (f"the request has more than {self._limits.max_headers} headers, "
                         f"this listener's limit")
        return 400, (f"the request is not valid HTTP/1.1 ({exc.message[:200]}); "
                     f"Compass deliveries are plain HTTP POST requests")


class GuardedServer(web.Server):
    """aiohttp's low-level server, making GuardedRequestHandler connections."""

    def __init__(self, handler, *, limits: ConnectionLimits, **kwargs: Any):
        super().__init__(handler, **kwargs, **limits.server_kwargs())
        self.limits = limits

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)


def raise_fd_limit(wanted: int = 65536) -> None:
    """Raise this process's open-file soft limit towards the hard limit: every connection
    is a file descriptor, and a soft limit of 1024 would refuse the 1,001st client."""
    try:
        import resource
    except ImportError:             # Windows has no such limit
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as exc:
        log.debug("could not raise the open-file limit: %s", exc)
