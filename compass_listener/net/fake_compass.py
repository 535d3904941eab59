"""A fake HCL Compass REST server over TLS, written from docs/compass-protocol.md §5–§6.

It serves the tests and `compass-listener demo`: `/authenticate` (with token expiry and
logoff), `/repos`, `/databases`, a database's record types, `hooksetup`, the folder →
queryDef → resultset flow with paging (and optionally the one-shot `POST …/query`),
records and single fields. Its certificate is self-signed and made at start-up, like a
fresh Compass install. Every knob a test needs is a plain attribute.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from compass_listener.net import selfsigned

BASE = "/ccmweb/rest"
DEFAULT_LISTENER_URL = "http://127.0.0.1:8080/compassdefect"
WEBHOOK_TYPES = ["WebhookMaster", "WebhookConfig", "WebhookData"]


@dataclass
class FakeRecord:
    record_type: str
    fields: dict[str, str]
    types: dict[str, str] = field(default_factory=dict)

    @property
    def dbid(self) -> str:
        return self.fields["dbid"]

    def as_json(self) -> dict:
        return {"dbId": self.dbid, "displayName": self.fields.get("id", self.dbid),
                "entityDefName": self.record_type,
                "fields": [{"name": n, "value": v, "type": self.types.get(n, "SHORT_STRING")}
                           for n, v in self.fields.items()]}


@dataclass
class FakeDatabase:
    name: str
    record_types: list[str]
    records: dict[str, list[FakeRecord]] = field(default_factory=dict)

    def find(self, record_type: str, record_id: str) -> FakeRecord | None:
        for record in self.records.get(record_type, []):
            if record_id in (record.dbid, record.fields.get("id")):
                return record
        return None


def _error(status: int, message: str, path: str = "") -> web.Response:
    # Spring Boot's error shape, as the real REST server sends it
    return web.json_response({"timestamp": datetime.datetime.now(datetime.timezone.utc)
                              .isoformat(timespec="milliseconds"), "status": status,
                              "error": {400: "Bad Request", 401: "Unauthorized",
                                        403: "Forbidden", 404: "Not Found"}.get(status, "Error"),
                              "message": message, "path": path}, status=status)


class FakeCompassServer:
    """Start with `await server.start()`; `server.base_url` is the REST base to give clients."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 certificate: selfsigned.SelfSignedCertificate | None = None,
                 users: dict[str, str] | None = None, token_lifetime: float = 24 * 3600,
                 oneshot_query: bool = False, hooksetup_enabled: bool = True,
                 login_status: int = 201) -> None:
        self.host, self.port = host, port
        self.certificate = certificate or selfsigned.generate()
        self.users = dict(users if users is not None else {"admin": ""})
        self.access_tokens: set[str] = set()
        self.token_lifetime = token_lifetime
        self.oneshot_query = oneshot_query
        self.hooksetup_enabled = hooksetup_enabled
        self.login_status = login_status
        self.webhooks_configured = False
        self.repos: dict[str, dict[str, FakeDatabase]] = {}
        self._tokens: dict[str, tuple[float, str, str, str]] = {}  # token → expiry, user, repo, db
        self._query_defs: dict[str, dict] = {}
        self._result_sets: dict[str, tuple[str, list[list[str]], int]] = {}
        self._ids = itertools.count(33_600_000)
        # what happened, for tests to assert on
        self.logins = 0
        self.logoffs = 0
        self.hooksetup_calls: list[dict] = []
        self.queries_created: list[str] = []
        self.queries_deleted: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}{BASE}"

    async def start(self) -> "FakeCompassServer":
        app = web.Application()
        r = app.router
        r.add_post(BASE + "/authenticate", self._authenticate)
        r.add_post(BASE + "/authenticate/logoff", self._logoff)
        r.add_post(BASE + "/hooksetup", self._hooksetup)
        r.add_get(BASE + "/repos", self._repos)
        r.add_get(BASE + "/repos/{repo}/databases", self._databases)
        db = BASE + "/repos/{repo}/databases/{db}"
        r.add_get(db, self._database)
        r.add_get(db + "/records/{type}/{id}", self._record)
        r.add_get(db + "/records/{type}/{id}/fields/{field}", self._field)
        r.add_get(db + "/workspace/folders", self._folders)
        r.add_post(db + "/workspace/queryDefs", self._create_query)
        r.add_delete(db + "/workspace/queryDefs/{qid}", self._delete_query)
        r.add_post(db + "/workspace/queryDefs/{qid}/resultsets", self._create_result_set)
        r.add_get(db + "/workspace/queryDefs/{qid}/resultsets/{rsid}", self._result_page)
        r.add_post(db + "/query", self._oneshot)
        app.middlewares.append(self._record_request)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port,
                           ssl_context=self.certificate.server_context())
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeCompassServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ data

    def add_database(self, repo: str, db: str, record_types: list[str]) -> FakeDatabase:
        database = FakeDatabase(db, list(record_types))
        self.repos.setdefault(repo, {})[db] = database
        return database

    def add_record(self, repo: str, db: str, record_type: str, fields: dict[str, Any],
                   types: dict[str, str] | None = None) -> FakeRecord:
        database = self.repos[repo][db]
        values = {"dbid": str(next(self._ids))}
        values.update({k: "" if v is None else str(v) for k, v in fields.items()})
        record = FakeRecord(record_type, values, dict(types or {}))
        database.records.setdefault(record_type, []).append(record)
        return record

    def expire_tokens(self) -> None:
        """Make every issued token expired, as after 24 h or a server restart."""
        self._tokens = {t: (0.0, u, r, d) for t, (_, u, r, d) in self._tokens.items()}

    # ------------------------------------------------------------------ helpers

    @web.middleware
    async def _record_request(self, request: web.Request, handler):
        self.requests.append((request.method, request.path))
        return await handler(request)

    def _check_auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic ") and header[6:] in self.access_tokens:
            return None
        if header.startswith("Bearer "):
            entry = self._tokens.get(header[7:])
            if entry is None or entry[0] < time.monotonic():
                return _error(401, "The token is invalid or has expired", request.path)
            repo, db = request.match_info.get("repo"), request.match_info.get("db")
            if repo is not None and (repo, db) != (entry[2], entry[3]):
                return _error(401, "The token is not valid for this repository and database",
                              request.path)
            return None
        return _error(401, "Full authentication is required to access this resource",
                      request.path)

    def _db(self, request: web.Request) -> FakeDatabase | web.Response:
        repo, db = request.match_info["repo"], request.match_info["db"]
        database = self.repos.get(repo, {}).get(db)
        if database is None:
            return _error(404, f"Database {db} not found in repository {repo}", request.path)
        return database

    def _authorized_db(self, request: web.Request) -> FakeDatabase | web.Response:
        """The database a request names, or the error reply (401 first, then 404)."""
        return self._check_auth(request) or self._db(request)

    async def _json(self, request: web.Request) -> dict:
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ handlers

    async def _authenticate(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        user, password = str(body.get("username", "")), str(body.get("password", ""))
        repo, db = str(body.get("repo", "")), str(body.get("db", ""))
        if user not in self.users or self.users[user] != password:
            return _error(401, "Invalid user name or password", request.path)
        if db not in self.repos.get(repo, {}):
            return _error(404, f"Database {db} not found in repository {repo}", request.path)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (time.monotonic() + self.token_lifetime, user, repo, db)
        self.logins += 1
        return web.json_response({"token": token}, status=self.login_status)

    async def _logoff(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if self._tokens.pop(header[7:], None) is not None:
            self.logoffs += 1
        return web.json_response({"message": "Logged off"})

    async def _hooksetup(self, request: web.Request) -> web.Response:
        if not self.hooksetup_enabled:
            return _error(404, "No handler found for POST /ccmweb/rest/hooksetup", request.path)
        body = await self._json(request)
        self.hooksetup_calls.append({k: v for k, v in body.items() if k != "password"})
        user, password = str(body.get("username", "")), str(body.get("password", ""))
        if user not in self.users or self.users[user] != password:
            return _error(401, "Invalid user name or password", request.path)
        repo, db = str(body.get("repo", "")), str(body.get("db", ""))
        if db not in self.repos.get(repo, {}):
            return _error(404, f"Database {db} not found in repository {repo}", request.path)
        self.webhooks_configured = True
        return web.json_response({"message": f"Webhooks system user created for {repo}/{db}; "
                                             f"restart the REST server to enable Webhooks"})

    async def _repos(self, request: web.Request) -> web.Response:
        return web.json_response([{"name": name} for name in self.repos])

    async def _databases(self, request: web.Request) -> web.Response:
        repo = request.match_info["repo"]
        if repo not in self.repos:
            return _error(404, f"Repository {repo} not found", request.path)
        return web.json_response([{"name": name} for name in self.repos[repo]])

    async def _database(self, request: web.Request) -> web.Response:
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        return web.json_response({"name": database.name, "dbId": "16777224",
                                  "entityDefNames": database.record_types})

    async def _record(self, request: web.Request) -> web.Response:
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        record = database.find(request.match_info["type"], request.match_info["id"])
        if record is None:
            return _error(404, f"Record {request.match_info['id']} of type "
                               f"{request.match_info['type']} not found", request.path)
        return web.json_response(record.as_json())

    async def _field(self, request: web.Request) -> web.Response:
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        record = database.find(request.match_info["type"], request.match_info["id"])
        name = request.match_info["field"]
        if record is None or name not in record.fields:
            return _error(404, f"Field {name} not found", request.path)
        return web.json_response({"name": name, "value": record.fields[name],
                                  "type": record.types.get(name, "SHORT_STRING")})

    async def _folders(self, request: web.Request) -> web.Response:
        denied = self._check_auth(request)
        if denied:
            return denied
        return web.json_response([
            {"name": "Public Queries", "dbId": "33554433", "children": []},
            {"name": "Personal Queries", "dbId": "33554434", "children": []},
        ])

    def _rows(self, database: FakeDatabase, query: dict) -> list[list[str]] | str:
        record_type = str(query.get("primaryEntityDefName", ""))
        if record_type not in database.record_types:
            return f"Record type {record_type} is not defined in database {database.name}"
        names = [str(f.get("fieldPathName", "")) for f in query.get("queryFieldDefs", [])]
        records = database.records.get(record_type, [])
        for name in names:
            if records and name not in records[0].fields:
                return f"Field {name} is not defined for record type {record_type}"
        return [[r.fields.get(n, "") for n in names] for r in records]

    async def _create_query(self, request: web.Request) -> web.Response:
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        body = await self._json(request)
        if body.get("dbIdParent") != "33554434":
            return _error(400, "dbIdParent must name a folder of this workspace", request.path)
        rows = self._rows(database, body)
        if isinstance(rows, str):
            return _error(400, rows, request.path)
        qid = str(next(self._ids))
        self._query_defs[qid] = {**body, "_db": database.name}
        self.queries_created.append(qid)
        return web.json_response({"dbId": qid, "name": body.get("name")}, status=201)

    async def _delete_query(self, request: web.Request) -> web.Response:
        denied = self._check_auth(request)
        if denied:
            return denied
        qid = request.match_info["qid"]
        if self._query_defs.pop(qid, None) is None:
            return _error(404, f"Query {qid} not found", request.path)
        self.queries_deleted.append(qid)
        return web.Response(status=204)

    async def _create_result_set(self, request: web.Request) -> web.Response:
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        query = self._query_defs.get(request.match_info["qid"])
        if query is None:
            return _error(404, "Query not found", request.path)
        body = await self._json(request)
        page_size = int((body.get("resultSetOptions") or {}).get("pageSize") or 100)
        rows = self._rows(database, query)
        if isinstance(rows, str):
            return _error(400, rows, request.path)
        rsid = secrets.token_hex(8)
        self._result_sets[rsid] = (request.match_info["qid"], rows, max(1, page_size))
        return web.json_response({"result_set_id": rsid}, status=201)

    async def _result_page(self, request: web.Request) -> web.Response:
        denied = self._check_auth(request)
        if denied:
            return denied
        entry = self._result_sets.get(request.match_info["rsid"])
        if entry is None or entry[0] != request.match_info["qid"]:
            return _error(404, "Result set not found", request.path)
        _, rows, size = entry
        try:
            page = int(request.query.get("pageNumber", "1"))
        except ValueError:
            return _error(400, "pageNumber must be a number", request.path)
        chunk = rows[(page - 1) * size: page * size] if page >= 1 else []
        return web.json_response({"rows": [{"values": v} for v in chunk],
                                  "totalNumberOfRows": len(rows), "pageNumber": page})

    async def _oneshot(self, request: web.Request) -> web.Response:
        if not self.oneshot_query:
            return _error(404, "No handler found for POST " + request.path, request.path)
        database = self._authorized_db(request)
        if isinstance(database, web.Response):
            return database
        body = await self._json(request)
        rows = self._rows(database, body.get("queryDef") or {})
        if isinstance(rows, str):
            return _error(400, rows, request.path)
        options = body.get("resultSetOptions") or {}
        size = max(1, int(options.get("pageSize") or 100))
        page = max(1, int(options.get("pageNumber") or 1))
        chunk = rows[(page - 1) * size: page * size]
        return web.json_response({"rows": [{"values": v} for v in chunk],
                                  "totalNumberOfRows": len(rows), "pageNumber": page})


class SilentServer:
    """Accepts TCP connections and never answers: the hung-server case for timeouts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> "SilentServer":
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)  # keep it open; read nothing, say nothing

        self._server = await asyncio.start_server(hold, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


# ---------------------------------------------------------------------- sample data

LONG_DESCRIPTION_LINE = ("Steps to reproduce: open the Project Browser, pick the SAMPL "
                         "database, submit a Defect with an attachment larger than the "
                         "configured limit, then refresh. ")


def long_text(lines: int = 60) -> str:
    """A Description well over Compass's 5,000-character truncation threshold."""
    return "\n".join(f"{i + 1:3d}. {LONG_DESCRIPTION_LINE}" for i in range(lines))


def defect_payload(record: dict[str, str], listener_url: str, field_base: str) -> dict:
    """A delivery body as the REST server would send it for one Defect record."""
    content: dict[str, dict[str, str]] = {}
    for name, value in record.items():
        if len(value) >= 5000:
            content[name] = {"truncated": "true", "value": value[:1000],
                             "url": f"{field_base}/{record.get('id', '')}/fields/{name}"}
        else:
            content[name] = {"truncated": "false", "value": value}
    return {"webUrl": listener_url, "content": content}


def populate(server: FakeCompassServer, *, repo: str = "Sample", db: str = "SAMPL",
             queued: int = 12, listener_url: str = DEFAULT_LISTENER_URL,
             field_host: str = "localhost:8190") -> None:
    """Realistic Defects, WebhookConfigs and WebhookData, plus a database without the package.

    `field_host` is what the REST server calls itself in truncated fields' urls: by
    default `localhost:8190`, which the client must redirect to the configured server.
    """
    server.add_database(repo, db, ["Defect", "Project", "users", "groups", *WEBHOOK_TYPES])
    server.add_database(repo, "TEST", ["Defect", "Project", "users", "groups"])
    field_base = f"https://{field_host}{BASE}/repos/{repo}/databases/{db}/records/Defect"
    from urllib.parse import urlsplit

    listener = urlsplit(listener_url)
    listener_root = f"{listener.scheme}://{listener.netloc}"
    server.add_record(repo, db, "WebhookMaster", {
        "Name": "Master", "Group": "WebhookAdmins",
        "CallbackURL": f"https://{field_host}{BASE}"})
    configs = [
        ("Listener on this machine", listener_url, "s3cr3t-demo", "Commit", "Submit", "Submitted"),
        ("Retired route", f"{listener_root}/oldroute", "", "Notification", "Modify", ""),
        ("CI server", "https://ci.example.com/hooks/compass", "ci-secret", "Commit", "Resolve",
         "Resolved"),
    ]
    for name, url, secret, kind, actions, states in configs:
        server.add_record(repo, db, "WebhookConfig", {
            "Name": name, "URL": url, "Secret": secret,
            "Description": f"Sends Defect changes to {url}", "TrackedRecord": "Defect",
            "WebhookType": kind, "Actions": actions, "States": states,
            "record_type": "WebhookConfig"})
    owners = ["lead", "dev1", "dev2", "qa"]
    failures = [
        ("401", '{"message": "signature mismatch"}', 3, configs[0]),
        ("404", '{"message": "no route /oldroute"}', 10, configs[1]),
        ("500", '{"message": "the event store is full"}', 1, configs[0]),
        ("", "", 0, configs[0]),
    ]
    for i in range(queued):
        number = 84 + i
        defect = {
            "id": f"{db}{number:08d}", "Headline": f"Example defect {number}",
            "State": "Submitted", "Owner": owners[i % len(owners)], "Priority": "2-Give High Attention",
            "Severity": "3-Average", "Submitter": "admin", "is_duplicate": "0",
            "Description": long_text() if i % 3 == 0 else f"Short description {number}",
            "record_type": "Defect",
        }
        defect_record = server.add_record(repo, db, "Defect", defect,
                                          types={"Description": "MULTILINE_STRING"})
        code, message, retries, config = failures[i % len(failures)]
        payload = defect_payload(defect_record.fields, config[1], field_base)
        server.add_record(repo, db, "WebhookData", {
            "WebhookConfig": config[0], "URL": config[1], "Secret": config[2],
            "RecordType": "Defect", "RecordID": defect["id"], "Action": "Submit",
            "Payload": json.dumps(payload), "ResponseCode": code,
            "ResponseMessage": message, "RetryCount": str(retries),
            "Created": f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            "record_type": "WebhookData"},
            types={"Payload": "MULTILINE_STRING"})
