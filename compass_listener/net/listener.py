"""The webhook listener: an aiohttp server that verifies, stores, answers, then publishes.

It runs on whatever asyncio loop hosts it: the qasync loop in the GUI, a plain loop for
`compass-listener listen`. It knows nothing of windows; subscribers get plain Delivery
objects after the reply has been decided and the row committed.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import socket
import ssl
import time
from dataclasses import dataclass, replace
from typing import Callable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from compass_listener.core import replies
from compass_listener.core.delivery import Delivery
from compass_listener.core.payload import parse_payload
from compass_listener.core.routes import Route, normalise_path
from compass_listener.core.signature import verify
from compass_listener.net.http_guard import ConnectionLimits, GuardedServer, raise_fd_limit
from compass_listener.store.events import EventStore, StoreError

log = logging.getLogger(__name__)

SecretLookup = Callable[[str], "str | None"]


class ListenerError(Exception):
    """The listener could not start: the message names the cause and the fix."""


class _Stopping(Exception):
    """The listener stopped while a body was still arriving."""


@dataclass
class ListenerStats:
    received: int = 0
    rejected: int = 0          # answered with an error status
    store_failures: int = 0
    last_received_at: float | None = None


class Listener:
    def __init__(self, store: EventStore, routes: list[Route], secret_for: SecretLookup,
                 body_limit: int = 10 * 1024 * 1024, limits: ConnectionLimits | None = None):
        self.store = store
        self._routes = {r.path: r for r in routes}
        self.secret_for = secret_for
        self.body_limit = body_limit
        self.limits = limits or ConnectionLimits()
        self.stats = ListenerStats()
        self._delivery_subscribers: list[Callable[[Delivery], None]] = []
        self._learn_subscribers: list[Callable[[Route], None]] = []
        self._problem_subscribers: list[Callable[[str], None]] = []
        self._refusal_subscribers: list[Callable[[str], None]] = []
        self._runner: web.ServerRunner | None = None
        self._reading: set[asyncio.Task] = set()     # bodies still arriving
        self._site: web.TCPSite | None = None
        self.host = ""
        self.url_host = ""        # the name to put in URLs when it is not `host` (HTTPS)
        self.port = 0
        self.scheme = "http"
        self.last_problem = ""

    # ---- configuration -------------------------------------------------------------------
    @property
    def routes(self) -> list[Route]:
        return list(self._routes.values())

    def set_routes(self, routes: list[Route]) -> None:
        self._routes = {r.path: r for r in routes}

    def on_delivery(self, callback: Callable[[Delivery], None]) -> None:
        self._delivery_subscribers.append(callback)

    def on_scheme_learned(self, callback: Callable[[Route], None]) -> None:
        self._learn_subscribers.append(callback)

    def on_refusal(self, callback: Callable[[str], None]) -> None:
        """Called with a sentence for a delivery refused without being stored (too large)."""
        self._refusal_subscribers.append(callback)

    def on_problem(self, callback: Callable[[str], None]) -> None:
        """Called with a sentence when something goes wrong ("" when it is fixed again)."""
        self._problem_subscribers.append(callback)

    @property
    def running(self) -> bool:
        return self._site is not None

    @property
    def urls(self) -> list[str]:
        shown = self.url_host or self.host
        host = f"[{shown}]" if ":" in shown else shown
        return [f"{self.scheme}://{host}:{self.port}{path}" for path in self._routes]

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                    url_host: str = "") -> None:
        """Listen on host:port (HTTPS with `ssl_context`); `url_host` is the name the URLs
        show when it differs from `host` (the certificate's name under HTTPS)."""
        if self.running:
            await self.stop()
        raise_fd_limit()
        # One handler for every path: the low-level server, with the connection deadlines
        # and JSON error replies of net.http_guard.
        server = GuardedServer(self._handle, limits=self.limits, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ListenerError(self._explain_bind(exc, host, port)) from exc
        self._runner, self._site = runner, site
        self.host = host
        self.scheme = "https" if ssl_context else "http"
        self.url_host = url_host if ssl_context else ""
        sockets = site._server.sockets if site._server else []  # the real port when port == 0
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("listening on %s", ", ".join(self.urls))

    @staticmethod
    def _explain_bind(exc: OSError, host: str, port: int) -> str:
        if exc.errno == errno.EADDRINUSE:
            return (f"port {port} on {host} is already in use by another program; "
                    f"choose another port in Settings (or with --port), or stop that program")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return (f"not allowed to listen on port {port}; ports below 1024 need "
                    f"administrator rights, choose a port of 1024 or more")
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            return (f"the address {host} does not belong to this machine; use 127.0.0.1, "
                    f"0.0.0.0 or one of this machine's addresses")
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"

    async def stop(self) -> None:
        runner, self._runner, self._site = self._runner, None, None
        # A body still arriving (a slow client) would hold the stop for up to the body
        # deadline; it is not stored yet, so it is answered 503 at once and Compass
        # retries. Deliveries being stored finish as usual.
        for reading in list(self._reading):
            reading.cancel()
        if runner is not None:
            await runner.cleanup()
            log.info("listener stopped")

    # ---- the path of one delivery ---------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = normalise_path(request.path)
        route = self._routes.get(path)
        if route is None:
            known = ", ".join(self._routes) or "none"
            return _json(404, f"no route {request.path} here; this listener serves {known}; "
                              f"set the WebhookConfig's URL to one of them")
        if request.method != "POST":
            return _json(405, f"{request.method} is not accepted on {path}; Compass delivers "
                              f"with POST", headers={"Allow": "POST"})
        expect = request.headers.get("Expect", "")
        if expect and expect.lower() != "100-continue":
            return _json(417, f"the expectation {expect[:100]!r} is not supported; only "
                              f"100-continue is")
        received_at = time.time()
        try:
            body = await self._read_body_in_time(request)
        except _Stopping:
            return _json(503, "the listener is stopping; the delivery was not stored, "
                              "Compass will deliver it again")
        except TimeoutError:
            self.stats.rejected += 1
            log.info("gave up on a delivery from %s: its body did not arrive within %g s",
                     request.remote, self.limits.body_timeout)
            return _json(408, f"the body did not arrive within {self.limits.body_timeout:g} "
                              f"seconds; the connection is closed")
        except RequestPayloadError as exc:
            self.stats.rejected += 1
            return _json(400, f"the body could not be read ({exc}); send it with a valid "
                              f"Content-Length or chunked encoding")
        except ConnectionError:
            # The client went away mid-body: nobody is left to answer.
            return _json(400, "the connection was closed before the body was complete")
        if body is None:
            self.stats.rejected += 1
            # Not stored (it is not held in memory), so say so where the user looks.
            message = (f"the body is larger than this listener's limit of {self.body_limit} "
                       f"bytes; raise the limit in Settings")
            log.warning("refused a delivery on %s from %s: %s", route.path,
                        request.remote or "?", message)
            for callback in self._refusal_subscribers:
                _safely(callback, f"Refused a delivery on {route.path} from "
                                  f"{request.remote or 'unknown'}: {message}.")
            return _json(413, message)

        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        verdict = verify(body, headers, self.secret_for(route.path), route.scheme, route.path,
                         secret_required=route.secret_required)
        if verdict.learned:
            route = route.with_scheme(replace(route.scheme, learned_header=verdict.header,
                                              learned_encoding=verdict.encoding))
            self._routes[route.path] = route
            for callback in self._learn_subscribers:
                _safely(callback, route)
        parsed = parse_payload(body, fallback_type=route.label, with_fields=False)
        reply = replies.decide(route, verdict, parsed)
        delivery = Delivery(
            received_at=received_at, route=route.path, route_label=route.label,
            peer=request.remote or "", method=request.method, path=request.path_qs,
            headers=headers, body=body, body_sha256=hashlib.sha256(body).hexdigest(),
            signature=verdict.outcome.value, signature_detail=verdict.detail,
            parse_status=parsed.status.value, parse_problem=parsed.problem,
            record_type=parsed.record_type, record_id=parsed.record_id, state=parsed.state,
            headline=parsed.headline, owner=parsed.owner, reply_status=reply.status,
            reply_body=reply.body(), accepted=reply.accepted)
        try:
            await self.store.append(delivery)
        except StoreError as exc:
            # Never 200 when the row is not on disk: 503 makes Compass retry later.
            self.stats.store_failures += 1
            self._problem(str(exc))
            return _json(503, f"{exc}")
        if self.last_problem:
            self._problem("")
        self.stats.received += 1
        self.stats.last_received_at = received_at
        if not reply.accepted:
            self.stats.rejected += 1
        for callback in self._delivery_subscribers:
            _safely(callback, delivery)
        return web.Response(status=reply.status, text=reply.body(),
                            content_type="application/json")

    async def _read_body_in_time(self, request: web.BaseRequest) -> bytes | None:
        """_read_body within the body deadline (TimeoutError), or _Stopping when the
        listener stops first. The deadline covers reading only: once the body is here,
        storing it and replying are never cut off (a cut-off stored delivery would come
        again as a duplicate)."""
        content = request.content
        if content.is_eof() and content.exception() is None:
            # The whole body arrived with the headers (a Compass delivery of a few KB does):
            # nothing to wait for, so no reader task and no deadline timer (issue 5: they
            # were a tenth of the loop's work per delivery in a burst).
            body = content.read_nowait()
            return body if len(body) <= self.body_limit else None
        reading = asyncio.ensure_future(self._read_body(request))
        self._reading.add(reading)
        try:
            done, _ = await asyncio.wait({reading}, timeout=self.limits.body_timeout)
        except asyncio.CancelledError:
            reading.cancel()            # never leave a reader behind a cancelled handler
            raise
        finally:
            self._reading.discard(reading)
        if not done:
            reading.cancel()
            raise TimeoutError
        if reading.cancelled():
            raise _Stopping
        return reading.result()

    async def _read_body(self, request: web.BaseRequest) -> bytes | None:
        """The exact body bytes, or None when it is over the limit (checked as it streams,
        so an oversized body is never held in memory)."""
        if request.content_length is not None and request.content_length > self.body_limit:
            return None         # answered 413 before the client sends the body
        if request.headers.get("Expect", "").lower() == "100-continue" \
                and request.version >= (1, 1):
            # The low-level server leaves this to us: the client waits for it to send.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunks, total = [], 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
            if total > self.body_limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _problem(self, text: str) -> None:
        self.last_problem = text
        for callback in self._problem_subscribers:
            _safely(callback, text)


def _json(status: int, message: str, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, text=replies.error(status, message).body(),
                        content_type="application/json", headers=headers)


def _safely(callback: Callable, *args) -> None:
    """A subscriber's bug must not cost a delivery its reply."""
    try:
        callback(*args)
    except Exception:
        log.exception("a delivery subscriber failed")
