"""Client for the HCL Compass REST API: login, hooksetup, package check, record queries.

Written from docs/compass-protocol.md §5–§6. No Qt: the CLI runs it on a plain asyncio
loop, the GUI on the qasync loop. Every call has a timeout and may be cancelled; every
failure becomes a `CompassError` whose text is one sentence naming cause and fix.
Passwords and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import quote

import aiohttp

from compass_listener.core import compass_urls
from compass_listener.core.webhookdata import discover_fields, fields_from_record_json
from compass_listener.net.tls_trust import (
    CertificateChangedError,
    TrustError,
    TrustPolicy,
    UntrustedCertificateError,
    fetch_peer_certificate,
    normalize_fingerprint,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]  # (rows so far, total rows when known)

# Field types a query cannot show as one column (HCL's query API rejects or flattens them).
_UNQUERYABLE_TYPES = {"ATTACHMENT_LIST", "JOURNAL", "REFERENCE_LIST", "RECORD_TYPE"}


class CompassError(Exception):
    """A Compass REST failure, worded as one sentence for the user."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class CompassAuthError(CompassError):
    """401: the user name, password or token was refused."""


class CompassForbiddenError(CompassError):
    """403: the Compass user lacks privileges."""


class CompassNotFoundError(CompassError):
    """404: wrong repo, db or record type, or the package is not applied."""


class CompassUnreachableError(CompassError):
    """No TCP or TLS connection, or no answer in time."""


class CompassTrustError(CompassError):
    """The server's certificate is not trusted (wraps tls_trust's errors)."""

    def __init__(self, error: TrustError) -> None:
        super().__init__(str(error))
        self.trust_error = error

    @property
    def certificate(self):
        return getattr(self.trust_error, "certificate", None)


@dataclass(frozen=True)
class HooksetupResult:
    status: int
    body: str
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    @property
    def message(self) -> str:
        if self.ok:
            return ("hooksetup succeeded: restart the Compass REST server, then look in its "
                    "log for the line saying Webhooks are enabled (before, it said the server "
                    "is not configured for Webhooks)")
        if self.status == 404:
            return ("this REST server has no hooksetup endpoint (404); it is older than the "
                    "Webhooks support or the address is not the Compass REST server")
        if self.status == 401:
            return ("Compass refused the user name or password for hooksetup (401); check "
                    "them, hooksetup needs an administrator of the repository")
        if self.status == 403:
            return ("the user is not allowed to run hooksetup (403); use a Compass "
                    "administrator account")
        return (f"hooksetup failed with status {self.status}: "
                f"{_message_of(self.body) or 'no message'}; see the REST server's log")


@dataclass(frozen=True)
class PackageStatus:
    record_types: tuple[str, ...]

    @property
    def has_webhook_config(self) -> bool:
        return "WebhookConfig" in self.record_types

    @property
    def has_webhook_data(self) -> bool:
        return "WebhookData" in self.record_types

    @property
    def applied(self) -> bool:
        return self.has_webhook_config and self.has_webhook_data

    def message(self, repo: str, db: str) -> str:
        if self.applied:
            return f"the Webhooks package is applied to {repo}/{db}"
        missing = [n for n in ("WebhookConfig", "WebhookData") if n not in self.record_types]
        return (f"the Webhooks package is not applied to database {db} (no "
                f"{' or '.join(missing)} record type); apply the Webhooks 1.0 package to the "
                f"schema with Compass Designer, upgrade database {db}, then run hooksetup")


@dataclass
class RecordTable:
    """Records of one type as discovered field names and `{field: value}` rows."""

    record_type: str
    fields: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    used_oneshot: bool | None = None


def _message_of(body: str) -> str:
    """The `message` of a Spring-style `{status, message}` error body, else the raw body."""
    text = (body or "").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(parsed.get(key), str) and parsed[key].strip():
                return parsed[key].strip()
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "…"


class CompassClient:
    """One Compass REST server, repo and db, logged in as one user (or with a token)."""

    def __init__(self, server: str, *, repo: str = "", db: str = "", user: str = "",
                 password: str = "", access_token: str | None = None,
                 trust: TrustPolicy | None = None, timeout: float = 30.0,
                 connect_timeout: float = 10.0) -> None:
        self.base = compass_urls.normalize_server(server)
        self.repo, self.db, self.user = repo, db, user
        self._password = password
        self._access_token = access_token
        self.trust = trust or TrustPolicy()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._token: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._oneshot: bool | None = None  # unknown until tried: does POST …/query exist?
        self._field_cache: dict[str, list[str]] = {}
        self.host, self.port = compass_urls.host_port(self.base)

    def __repr__(self) -> str:  # never show the password or token
        return f"CompassClient({self.base!r}, repo={self.repo!r}, db={self.db!r}, user={self.user!r})"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> "CompassClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    async def close(self) -> None:
        """Log off (best effort, briefly) and close the HTTP session."""
        try:
            if self._token is not None and self._session is not None:
                await asyncio.wait_for(self.logoff(), 3)
        except (CompassError, asyncio.TimeoutError, aiohttp.ClientError, OSError):
            log.info("logoff from %s failed; the token expires on its own", self.base)
        finally:
            self._token = None
            if self._session is not None:
                await self._session.close()
                self._session = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.connect_timeout),
                headers={"Accept": "application/json"})
        return self._session

    # ------------------------------------------------------------------ transport

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base + "/" + path.lstrip("/")

    def _db_path(self, *parts: str) -> str:
        segs = ["repos", self.repo, "databases", self.db, *parts]
        return "/".join(quote(str(s), safe="") for s in segs)

    def _auth_headers(self) -> dict[str, str]:
        if self._access_token:
            # Compass 2.2 personal access tokens go as-is after "Basic" (protocol doc §6)
            return {"Authorization": f"Basic {self._access_token}"}
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    async def _send(self, method: str, url: str, *, json_body: Any = None,
                    params: dict | None = None, headers: dict | None = None) -> tuple[int, str, str]:
        session = self._session_now()
        ssl_arg: Any = self.trust.ssl_for_aiohttp() if url.startswith("https:") else None
        host, port = compass_urls.host_port(url)
        try:
            async with session.request(method, url, json=json_body, params=params,
                                       headers=headers, ssl=ssl_arg) as resp:
                body = await resp.text(errors="replace")
                log.debug("%s %s -> %s", method, url.split("?")[0], resp.status)
                return resp.status, body, resp.headers.get("Content-Type", "")
        except aiohttp.ServerFingerprintMismatch as exc:
            subject = ""
            try:
                subject = (await fetch_peer_certificate(host, port, self.connect_timeout)).subject
            except (OSError, asyncio.TimeoutError, TrustError, ssl.SSLError):
                pass
            raise CompassTrustError(CertificateChangedError(
                host, port, normalize_fingerprint(exc.expected.hex()),
                normalize_fingerprint(exc.got.hex()), subject)) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise await self._untrusted(host, port, exc) from None
        except aiohttp.ClientSSLError as exc:
            if isinstance(getattr(exc, "os_error", None), ssl.SSLCertVerificationError) or \
                    "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise await self._untrusted(host, port, exc) from None
            raise CompassUnreachableError(
                f"the TLS handshake with {host}:{port} failed ({exc}); check that the address "
                f"is the Compass REST server and that it speaks HTTPS") from None
        except aiohttp.ClientConnectorError as exc:
            reason = ("connection refused" if isinstance(exc.os_error, ConnectionRefusedError)
                      else exc.os_error.strerror or str(exc))
            raise CompassUnreachableError(
                f"cannot connect to {host}:{port} ({reason}); is the "
                f"Compass REST server running on that port?") from None
        except asyncio.TimeoutError:
            raise CompassUnreachableError(
                f"the Compass REST server at {host}:{port} did not answer within "
                f"{self.timeout:g} s; check that it is running and not overloaded") from None
        except aiohttp.ClientError as exc:
            raise CompassUnreachableError(
                f"the connection to {host}:{port} failed ({type(exc).__name__}: {exc}); "
                f"check the server address and try again") from None

    async def _untrusted(self, host: str, port: int, exc: Exception) -> CompassError:
        reason = getattr(getattr(exc, "certificate_error", None), "verify_message", "") or ""
        try:
            cert = await fetch_peer_certificate(host, port, self.connect_timeout)
        except (OSError, asyncio.TimeoutError, TrustError, ssl.SSLError):
            return CompassUnreachableError(
                f"the certificate of {host}:{port} is not trusted ({exc}) and could not be read "
                f"back; check the address, or give its CA with --ca-file")
        return CompassTrustError(UntrustedCertificateError(cert, reason))

    def _error(self, status: int, body: str, what: str) -> CompassError:
        message = _message_of(body)
        detail = f" ({status}: {message})" if message else f" ({status})"
        if status == 401:
            return CompassAuthError(
                f"Compass refused the login of user {self.user or '(token)'}{detail}; check the "
                f"user name and password (or token) and log in again", status, body)
        if status == 403:
            return CompassForbiddenError(
                f"user {self.user or '(token)'} has not enough Compass privileges to {what}"
                f"{detail}; ask a Compass administrator for access", status, body)
        if status == 404:
            return CompassNotFoundError(
                f"Compass found nothing to {what}{detail}; check the repo ({self.repo}), the "
                f"db ({self.db}) and the record type, and that the Webhooks package is applied "
                f"to that database", status, body)
        return CompassError(f"Compass answered {status} when asked to {what}"
                            f"{': ' + message if message else ''}; see the REST server's log",
                            status, body)

    async def request(self, method: str, path: str, *, what: str, json_body: Any = None,
                      params: dict | None = None, auth: bool = True,
                      ok: Iterable[int] = ()) -> tuple[int, str]:
        """Send a request; on 401 log in again once; raise CompassError unless 2xx or `ok`."""
        if auth and not self._access_token and self._token is None:
            await self.login()
        url = self._url(path)
        status, body, _ = await self._send(method, url, json_body=json_body, params=params,
                                           headers=self._auth_headers() if auth else None)
        if status == 401 and auth and not self._access_token:
            # the token expired (24 h in HCL's sample) or the server restarted: log in again
            log.info("token refused by %s; logging in again", self.base)
            self._token = None
            await self.login()
            status, body, _ = await self._send(method, url, json_body=json_body, params=params,
                                               headers=self._auth_headers())
        if 200 <= status <= 299 or status in set(ok):
            return status, body
        raise self._error(status, body, what)

    async def request_json(self, method: str, path: str, *, what: str, **kw: Any) -> Any:
        status, body = await self.request(method, path, what=what, **kw)
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise CompassError(f"Compass answered {status} to {what} with a body that is not "
                               f"JSON ({_message_of(body)}); check that the address is the "
                               f"REST API base (…/ccmweb/rest)", status, body) from None

    # ------------------------------------------------------------------ authentication

    async def login(self) -> None:
        if self._access_token:
            return
        status, body, _ = await self._send("POST", self._url("authenticate"), json_body={
            "username": self.user, "password": self._password, "repo": self.repo, "db": self.db})
        if status not in (200, 201):  # HCL's samples expect 201; some servers answer 200
            raise self._error(status, body, f"log in to {self.repo}/{self.db}")
        token = None
        try:
            parsed = json.loads(body)
            token = parsed.get("token") if isinstance(parsed, dict) else None
        except ValueError:
            pass
        if not token:
            raise CompassError(f"Compass accepted the login but sent no token "
                               f"({_message_of(body)}); check that the address is the REST "
                               f"API base (…/ccmweb/rest)", status, body)
        self._token = str(token)
        log.info("logged in to %s as %s (%s/%s)", self.base, self.user, self.repo, self.db)

    async def logoff(self) -> None:
        if self._token is None:
            return
        try:
            await self._send("POST", self._url("authenticate/logoff"),
                             headers=self._auth_headers())
        finally:
            self._token = None

    # ------------------------------------------------------------------ calls

    async def hooksetup(self) -> HooksetupResult:
        """POST hooksetup with the documented body; any status is returned, not raised."""
        status, body, ctype = await self._send("POST", self._url("hooksetup"), json_body={
            "username": self.user, "password": self._password, "repo": self.repo, "db": self.db})
        log.info("hooksetup on %s (%s/%s) -> %s", self.base, self.repo, self.db, status)
        return HooksetupResult(status, body, ctype)

    async def list_repos(self) -> list[str]:
        data = await self.request_json("GET", "repos", what="list the repositories", auth=False)
        return _names(data)

    async def list_databases(self, repo: str | None = None) -> list[str]:
        repo = repo if repo is not None else self.repo
        data = await self.request_json("GET", f"repos/{quote(repo, safe='')}/databases",
                                       what=f"list the databases of {repo}", auth=False)
        return _names(data)

    async def check_package(self) -> PackageStatus:
        data = await self.request_json("GET", self._db_path(),
                                       what=f"read database {self.repo}/{self.db}")
        types = data.get("entityDefNames") if isinstance(data, dict) else None
        return PackageStatus(tuple(str(t) for t in (types or [])))

    async def get_record(self, record_type: str, record_id: str) -> dict[str, str]:
        data = await self.request_json("GET", self._db_path("records", record_type, record_id),
                                       what=f"read {record_type} {record_id}")
        return fields_from_record_json(data if isinstance(data, dict) else {})

    async def get_record_field_defs(self, record_type: str, record_id: str) -> list[dict]:
        data = await self.request_json("GET", self._db_path("records", record_type, record_id),
                                       what=f"read {record_type} {record_id}")
        items = data.get("fields") if isinstance(data, dict) else None
        return [i for i in (items or []) if isinstance(i, dict) and "name" in i]

    async def get_field_value(self, field_url: str) -> tuple[str, compass_urls.FieldAddress]:
        """The full value of a truncated field, from its `url` (sent to this server only)."""
        address = compass_urls.resolve_field_url(field_url, self.base)
        status, body = await self.request("GET", address.url, what="load the field's full value")
        value = body
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            if "value" in parsed:
                value = "" if parsed["value"] is None else str(parsed["value"])
            elif isinstance(parsed.get("fields"), list) and parsed["fields"]:
                value = str(parsed["fields"][0].get("value", ""))
        elif isinstance(parsed, str):
            value = parsed
        return value, address

    # ------------------------------------------------------------------ queries

    async def query(self, record_type: str, field_names: list[str], *, page_size: int = 100,
                    max_rows: int | None = None, on_progress: Progress | None = None
                    ) -> list[list[str]]:
        """Rows of `field_names` for every record of a type, paging through the results."""
        if self._oneshot is not False:
            try:
                rows = await self._query_oneshot(record_type, field_names, page_size, max_rows,
                                                 on_progress)
                self._oneshot = True
                return rows
            except (CompassNotFoundError, CompassError) as exc:
                if self._oneshot or exc.status not in (404, 405, 501):
                    raise
                log.info("%s has no one-shot query; using saved queries", self.base)
                self._oneshot = False
        return await self._query_saved(record_type, field_names, page_size, max_rows, on_progress)

    def _query_def(self, record_type: str, field_names: list[str]) -> dict:
        return {
            "primaryEntityDefName": record_type,
            "queryFieldDefs": [{"fieldPathName": n, "isShown": True, "sortType": "NO_SORT"}
                               for n in field_names],
            "filterNode": {"boolOp": "BOOL_OP_AND", "fieldFilters": []},
        }

    @staticmethod
    async def _collect_pages(fetch_page, page_size, max_rows, on_progress) -> list[list[str]]:
        """Call fetch_page(1), fetch_page(2), … until a short page, the total or max_rows."""
        rows: list[list[str]] = []
        page = 1
        while True:
            got, total = _rows_of(await fetch_page(page))
            rows.extend(got)
            if on_progress:
                on_progress(len(rows), total)
            if len(got) < page_size or (max_rows and len(rows) >= max_rows) or \
                    (total is not None and len(rows) >= total):
                return rows[:max_rows] if max_rows else rows
            page += 1

    async def _query_oneshot(self, record_type, field_names, page_size, max_rows, on_progress):
        def fetch(page: int):
            return self.request_json(
                "POST", self._db_path("query"), what=f"query {record_type} records",
                json_body={"queryDef": self._query_def(record_type, field_names),
                           "resultSetOptions": {"pageSize": page_size, "pageNumber": page}})
        return await self._collect_pages(fetch, page_size, max_rows, on_progress)

    async def _personal_folder(self) -> str:
        data = await self.request_json("GET", self._db_path("workspace", "folders"),
                                       what="read the query folders")
        found = _find_folder(data, "personal queries")
        if found is None:
            raise CompassError("Compass has no Personal Queries folder for this user, so no "
                               "query can be saved; log in as a user with a workspace")
        return found

    async def _query_saved(self, record_type, field_names, page_size, max_rows, on_progress):
        folder = await self._personal_folder()
        created = await self.request_json(
            "POST", self._db_path("workspace", "queryDefs"), what=f"create a {record_type} query",
            json_body={"name": f"compass-listener-{uuid.uuid4().hex[:12]}",
                       "dbIdParent": folder, **self._query_def(record_type, field_names)})
        query_id = str((created or {}).get("dbId") or "")
        if not query_id:
            raise CompassError("Compass created the query but returned no dbId; see the REST "
                               "server's log")
        try:
            rs = await self.request_json(
                "POST", self._db_path("workspace", "queryDefs", query_id, "resultsets"),
                what=f"run the {record_type} query",
                json_body={"resultSetOptions": {"pageSize": page_size,
                                                "convertToLocalTime": False,
                                                "maxMultiLineTextLength": 0}})
            rs_id = str((rs or {}).get("result_set_id") or (rs or {}).get("resultSetId") or "")
            if not rs_id:
                raise CompassError("Compass ran the query but returned no result set id; see "
                                   "the REST server's log")
            def fetch(page: int):
                return self.request_json(
                    "GET", self._db_path("workspace", "queryDefs", query_id, "resultsets", rs_id),
                    params={"pageNumber": str(page)}, what=f"read page {page} of the results")
            return await self._collect_pages(fetch, page_size, max_rows, on_progress)
        finally:
            # the query is only a vehicle: never leave it in the user's Personal Queries,
            # not even after a cancel (shielded so a second cancel cannot skip it)
            await _quietly(asyncio.shield(self._delete_query(query_id)))

    async def _delete_query(self, query_id: str) -> None:
        try:
            await asyncio.wait_for(self.request(
                "DELETE", self._db_path("workspace", "queryDefs", query_id),
                what="delete the temporary query"), 10)
        except (CompassError, asyncio.TimeoutError) as exc:
            log.warning("temporary query %s was not deleted: %s", query_id, exc)

    async def list_records(self, record_type: str, *, page_size: int = 100,
                           on_progress: Progress | None = None) -> RecordTable:
        """All records of a type with every field, discovering the field names first."""
        names = self._field_cache.get(record_type)
        if names is None:
            first = await self.query(record_type, ["dbid"], page_size=1, max_rows=1)
            if not first:
                return RecordTable(record_type, [], [], self._oneshot)
            defs = await self.get_record_field_defs(record_type, first[0][0])
            names = [str(d["name"]) for d in defs
                     if str(d.get("type", "")).upper() not in _UNQUERYABLE_TYPES]
            if "dbid" not in names:
                names.insert(0, "dbid")
            self._field_cache[record_type] = names
        rows = await self.query(record_type, names, page_size=page_size, on_progress=on_progress)
        dict_rows = [dict(zip(names, row)) for row in rows]
        return RecordTable(record_type, discover_fields([dict.fromkeys(names)]), dict_rows,
                           self._oneshot)


async def _quietly(awaitable: Awaitable) -> None:
    try:
        await awaitable
    except asyncio.CancelledError:
        pass


def _names(data: Any) -> list[str]:
    items = data if isinstance(data, list) else (data or {}).get("items", []) if isinstance(data, dict) else []
    out = []
    for item in items:
        if isinstance(item, dict) and item.get("name"):
            out.append(str(item["name"]))
        elif isinstance(item, str):
            out.append(item)
    return out


def _rows_of(data: Any) -> tuple[list[list[str]], int | None]:
    if not isinstance(data, dict):
        return [], None
    rows = []
    for row in data.get("rows") or []:
        values = row.get("values") if isinstance(row, dict) else row
        rows.append(["" if v is None else str(v) for v in (values or [])])
    total = None
    for key in ("totalNumberOfRows", "totalCount", "total"):
        if isinstance(data.get(key), int):
            total = data[key]
            break
    return rows, total


def _find_folder(data: Any, name: str) -> str | None:
    if isinstance(data, list):
        for item in data:
            found = _find_folder(item, name)
            if found:
                return found
    elif isinstance(data, dict):
        if str(data.get("name", "")).lower() == name and data.get("dbId"):
            return str(data["dbId"])
        for key in ("children", "folders", "subFolders", "items"):
            found = _find_folder(data.get(key), name)
            if found:
                return found
    return None
