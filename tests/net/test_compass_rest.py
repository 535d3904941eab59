"""The Compass REST client against the fake Compass server over real TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import pytest

from compass_listener.core.webhookdata import REDACTED, interpret_queued, explain
from compass_listener.net import compass_rest, selfsigned
from compass_listener.net.compass_rest import CompassClient
from compass_listener.net.fake_compass import FakeCompassServer, SilentServer, populate
from compass_listener.net.tls_trust import TrustPolicy

pytestmark = pytest.mark.timeout(30)

CERT = selfsigned.generate()  # one key pair for the module: generation is the slow part


@pytest.fixture
async def fake():
    server = FakeCompassServer(certificate=CERT, users={"admin": "", "alice": "pw"})
    populate(server, queued=12)
    await server.start()
    yield server
    await server.stop()


def client_for(server: FakeCompassServer, **kw) -> CompassClient:
    kw.setdefault("repo", "Sample")
    kw.setdefault("db", "SAMPL")
    kw.setdefault("user", "alice")
    kw.setdefault("password", "pw")
    kw.setdefault("trust", TrustPolicy(pinned_fingerprint=CERT.fingerprint))
    kw.setdefault("timeout", 5)
    return CompassClient(server.base_url, **kw)


async def test_login_sends_bearer_and_relogs_after_expiry(fake):
    async with client_for(fake) as client:
        status = await client.check_package()
        assert status.applied
        assert fake.logins == 1
        fake.expire_tokens()
        status = await client.check_package()  # 401 → log in again once → retried
        assert status.applied
        assert fake.logins == 2
    assert fake.logoffs == 1  # closing logs off


async def test_login_accepts_200_as_well_as_201(fake):
    fake.login_status = 200
    async with client_for(fake) as client:
        await client.check_package()
        assert client.logged_in


async def test_wrong_password_is_one_sentence_naming_the_fix(fake):
    async with client_for(fake, password="wrong") as client:
        with pytest.raises(compass_rest.CompassAuthError) as info:
            await client.check_package()
    text = str(info.value)
    assert "alice" in text and "401" in text and "password" in text
    assert "wrong" not in text  # the password itself is never echoed
    assert "\n" not in text


async def test_access_token_goes_as_basic_without_login(fake):
    fake.access_tokens.add("pat-123")
    async with client_for(fake, user="", password="", access_token="pat-123") as client:
        assert (await client.check_package()).applied
    assert fake.logins == 0


async def test_wrong_db_is_404_with_hint(fake):
    async with client_for(fake, db="NOPE") as client:
        with pytest.raises(compass_rest.CompassNotFoundError) as info:
            await client.check_package()
    assert "NOPE" in str(info.value)


async def test_package_missing_is_explained(fake):
    async with client_for(fake, db="TEST") as client:
        status = await client.check_package()
    assert not status.applied
    message = status.message("Sample", "TEST")
    assert "not applied" in message and "WebhookData" in message and "Designer" in message


async def test_repos_and_databases(fake):
    async with client_for(fake) as client:
        assert await client.list_repos() == ["Sample"]
        assert await client.list_databases("Sample") == ["SAMPL", "TEST"]


@pytest.mark.parametrize("case", ["ok", "404", "401"])
async def test_hooksetup_statuses(fake, case):
    if case == "404":
        fake.hooksetup_enabled = False
    password = "wrong" if case == "401" else "pw"
    async with client_for(fake, password=password) as client:
        result = await client.hooksetup()
    if case == "ok":
        assert result.ok and result.status == 200
        assert "restart the Compass REST server" in result.message
        assert json.loads(result.body)["message"].startswith("Webhooks system user")
        assert fake.webhooks_configured
        assert fake.hooksetup_calls == [{"username": "alice", "repo": "Sample", "db": "SAMPL"}]
    elif case == "404":
        assert not result.ok and result.status == 404
        assert "no hooksetup endpoint" in result.message
    else:
        assert not result.ok and result.status == 401
        assert "password" in result.message
        assert not fake.webhooks_configured


@pytest.mark.parametrize("oneshot", [False, True])
async def test_webhookdata_250_records_over_pages(oneshot):
    server = FakeCompassServer(certificate=CERT, oneshot_query=oneshot)
    populate(server, queued=250)
    await server.start()
    try:
        progress = []
        async with client_for(server, user="admin", password="") as client:
            table = await client.list_records(
                "WebhookData", page_size=100, on_progress=lambda n, t: progress.append((n, t)))
        assert len(table.rows) == 250
        assert len({row["dbid"] for row in table.rows}) == 250
        assert progress[-1] == (250, 250) and len(progress) >= 3  # several pages, with progress
        assert table.used_oneshot is oneshot
        if not oneshot:
            # every temporary query created is deleted again
            assert server.queries_created and server.queries_created == server.queries_deleted
        else:
            assert server.queries_created == []
        # discovered fields: status/response/retry first, everything else still there
        assert table.fields[:3] == ["ResponseCode", "ResponseMessage", "RetryCount"]
        assert {"Payload", "WebhookConfig", "RecordID", "Secret", "URL"} <= set(table.fields)
        row = table.rows[0]
        queued = interpret_queued(row)
        assert queued.fields["Secret"] == REDACTED and row["Secret"] == "s3cr3t-demo"
        assert explain(queued) == ("attempt 3 of 10, last reply 401 signature mismatch: "
                                   "check the secret of route /compassdefect")
        assert queued.record_id == "SAMPL00000084"
    finally:
        await server.stop()


async def test_empty_webhookdata_has_no_fields(fake):
    fake.repos["Sample"]["SAMPL"].records["WebhookData"] = []
    async with client_for(fake) as client:
        table = await client.list_records("WebhookData")
    assert table.rows == [] and table.fields == []
    assert fake.queries_created == fake.queries_deleted


async def test_cancelled_query_still_deletes_temporary_query(fake):
    async with client_for(fake) as client:
        started = asyncio.Event()

        def progress(n, total):
            started.set()

        task = asyncio.ensure_future(client.query("WebhookData", ["dbid"], page_size=1,
                                                  on_progress=progress))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if fake.queries_deleted:
                break
            await asyncio.sleep(0.02)
    assert fake.queries_created == fake.queries_deleted != []


async def test_truncated_field_url_on_localhost_goes_to_configured_server(fake):
    async with client_for(fake) as client:
        table = await client.list_records("WebhookData")
        payload = json.loads(table.rows[0]["Payload"])
        field = payload["content"]["Description"]
        assert field["truncated"] == "true" and "localhost:8190" in field["url"]
        value, address = await client.get_field_value(field["url"])
    assert len(value) > 5000 and value.startswith(field["value"])
    assert address.redirected_from == field["url"]
    assert "localhost:8190" in address.note and str(fake.port) in address.note


async def test_truncated_field_on_foreign_host_is_refused(fake):
    async with client_for(fake) as client:
        with pytest.raises(ValueError, match="not the configured Compass server"):
            await client.get_field_value(
                "https://evil.example.com:8190/ccmweb/rest/repos/x/databases/y/records/D/1/fields/F")


# ---------------------------------------------------------------------------- TLS


async def test_self_signed_refused_by_default_naming_subject_and_fingerprint(fake):
    async with client_for(fake, trust=TrustPolicy()) as client:
        with pytest.raises(compass_rest.CompassTrustError) as info:
            await client.check_package()
    text = str(info.value)
    assert CERT.fingerprint in text and "CN=localhost" in text
    assert info.value.certificate.fingerprint == CERT.fingerprint
    assert fake.logins == 0  # nothing was sent over the untrusted connection


async def test_trusted_by_fingerprint_then_by_ca_file(fake, tmp_path):
    async with client_for(fake, trust=TrustPolicy(pinned_fingerprint=CERT.fingerprint.lower()
                                                  .replace(":", ""))) as client:
        assert (await client.check_package()).applied
    ca = CERT.write_ca_file(tmp_path / "ca.pem")
    async with client_for(fake, trust=TrustPolicy(ca_file=ca)) as client:
        assert (await client.check_package()).applied


async def test_ca_file_of_another_certificate_is_refused(fake, tmp_path):
    other = selfsigned.generate()
    ca = other.write_ca_file(tmp_path / "other.pem")
    async with client_for(fake, trust=TrustPolicy(ca_file=ca)) as client:
        with pytest.raises(compass_rest.CompassTrustError, match=CERT.fingerprint):
            await client.check_package()


async def test_changed_certificate_refused_naming_both_fingerprints():
    new_cert = selfsigned.generate()
    server = FakeCompassServer(certificate=new_cert)
    populate(server, queued=1)
    await server.start()
    try:
        async with client_for(server, user="admin", password="") as client:
            with pytest.raises(compass_rest.CompassTrustError) as info:
                await client.check_package()
    finally:
        await server.stop()
    text = str(info.value)
    assert "changed" in text and CERT.fingerprint in text and new_cert.fingerprint in text
    assert server.logins == 0


# ---------------------------------------------------------------------------- failures


async def test_connection_refused_names_port():
    silent = await SilentServer().start()
    port = silent.port
    await silent.stop()  # nothing listens there any more
    async with CompassClient(f"127.0.0.1:{port}", repo="r", db="d", timeout=5) as client:
        with pytest.raises(compass_rest.CompassUnreachableError) as info:
            await client.list_repos()
    assert f"127.0.0.1:{port}" in str(info.value) and "running on that port" in str(info.value)


async def test_server_that_never_answers_times_out_with_message():
    silent = await SilentServer().start()
    try:
        async with CompassClient(f"127.0.0.1:{silent.port}", repo="r", db="d",
                                 timeout=0.5) as client:
            with pytest.raises(compass_rest.CompassUnreachableError, match="did not answer within"):
                await client.list_repos()
    finally:
        await silent.stop()


async def test_server_that_never_answers_can_be_cancelled():
    silent = await SilentServer().start()
    try:
        async with CompassClient(f"127.0.0.1:{silent.port}", repo="r", db="d",
                                 timeout=30) as client:
            task = asyncio.ensure_future(client.list_repos())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 2)
    finally:
        await silent.stop()
