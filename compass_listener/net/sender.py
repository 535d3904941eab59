"""A Compass-like sender: POSTs sample deliveries signed the way Compass signs them.

Used by `compass-listener send-test`, the GUI's "Send test delivery" and the `demo`
command, so that what they send is what the REST server would send (compass-protocol.md
§2–§3): a JSON body, an HMAC-SHA1 of the exact bytes in hex, in one header.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import json
import time
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp

from compass_listener import __version__
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign

DEFAULT_HEADER = "X-Compass-Signature"
_MESSAGE_MAX = 500      # a reply that is not our JSON (an HTML error page) is cut to this


@dataclass
class SendResult:
    """What happened to one delivery. `index` counts from 1; `status` is None when no
    HTTP reply came back, and then `error` says why in one sentence."""

    index: int
    status: int | None
    message: str
    elapsed: float               # seconds from sending to the end of the reply
    error: str = ""
    record_id: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> dict:
        return {"index": self.index, "status": self.status, "message": self.message,
                "elapsed_ms": round(self.elapsed * 1000, 1), "error": self.error,
                "record_id": self.record_id}


OnReply = Callable[[SendResult], "Awaitable[None] | None"]


def check_url(url: str) -> str:
    """"" when `url` can be sent to, else one sentence saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        return f"the URL {url!r} is not valid ({exc}); give one like http://127.0.0.1:8080/compassdefect"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (f"the URL {url!r} is not an http(s) address; give one like "
                f"http://127.0.0.1:8080/compassdefect")
    return ""


def explain_error(exc: BaseException, url: str, timeout: float) -> str:
    """One sentence for a delivery that got no HTTP reply."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"the host {host} cannot be found; check the URL"
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return (f"the TLS connection to {host} failed ({exc}); check that the URL's scheme "
                f"matches the listener (http or https) and that its certificate is trusted")
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = getattr(exc, "errno", None) or getattr(exc.os_error, "errno", None)
        if code == errno.ECONNREFUSED:
            return f"nothing is listening on {url}; start the listener or check the URL"
        if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"the host {host} cannot be reached from here; check the URL and the network"
        return f"cannot connect to {url} ({exc.os_error.strerror or exc}); check the URL"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return (f"no reply from {url} within {timeout:g} s; the listener may be stuck or "
                f"too slow, try again or raise the timeout")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return (f"{url} closed the connection without replying; check that it is a Compass "
                f"Listener route and look at its log")
    if isinstance(exc, aiohttp.ClientError):
        return f"the delivery to {url} failed ({type(exc).__name__}: {exc}); check the URL"
    return f"the delivery to {url} failed ({type(exc).__name__}: {exc})"


def _reply_message(text: str) -> str:
    """The JSON `message` of a listener's reply, else the raw text (shortened)."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return document["message"]
    text = text.strip()
    return text if len(text) <= _MESSAGE_MAX else text[:_MESSAGE_MAX] + "…"


async def send_deliveries(url: str, *, secret: str | None = None,
                          header: str = DEFAULT_HEADER, count: int = 1, concurrency: int = 1,
                          record_type: str = "Defect", state: str = "Submitted",
                          on_reply: OnReply | None = None,
                          session: aiohttp.ClientSession | None = None,
                          timeout: float = 30, seed: int | None = None) -> list[SendResult]:
    """POST `count` sample deliveries to `url`, at most `concurrency` at a time, and return
    their results in index order. `on_reply(result)` (plain or async) is called as each
    reply arrives. Raises ValueError for a URL, count or concurrency that cannot work;
    connection failures never raise, they become results with `error` set."""
    problem = check_url(url)
    if problem:
        raise ValueError(problem)
    if count < 1:
        raise ValueError(f"the count must be 1 or more, not {count}")
    if concurrency < 1:
        raise ValueError(f"the concurrency must be 1 or more, not {concurrency}")
    if secret and not header.strip():
        raise ValueError("the signature header name is empty; give one, e.g. X-Compass-Signature")

    own_session = session is None
    if own_session:
        # One connection per concurrent sender; the default limit (100) would cap bursts.
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(concurrency, 1)),
            headers={"User-Agent": f"compass-listener-send-test/{__version__}"})
    gate = asyncio.Semaphore(concurrency)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def one(index: int) -> SendResult:
        body = sample_body(url, index=index, record_type=record_type, state=state, seed=seed)
        record_id = json.loads(body)["content"]["id"]["value"]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if secret:
            headers[header] = sign(body, secret)
        async with gate:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers,
                                        timeout=client_timeout) as response:
                    text = await response.text(errors="replace")
                    result = SendResult(index, response.status, _reply_message(text),
                                        time.perf_counter() - started, record_id=record_id)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                error = explain_error(exc, url, timeout)
                result = SendResult(index, None, error, time.perf_counter() - started,
                                    error=error, record_id=record_id)
        if on_reply is not None:
            outcome = on_reply(result)
            if inspect.isawaitable(outcome):
                await outcome
        return result

    try:
        tasks = [asyncio.ensure_future(one(i)) for i in range(1, count + 1)]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:      # cancelled (e.g. the user closed the dialog): stop all
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    finally:
        if own_session:
            await session.close()
    return sorted(results, key=lambda r: r.index)
