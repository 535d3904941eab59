"""`compass-listener hooksetup/deliveries/configs` as real subprocesses against the fake server."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from compass_listener.net import selfsigned
from compass_listener.net.fake_compass import FakeCompassServer, populate

pytestmark = pytest.mark.timeout(60)

CERT = selfsigned.generate()


@pytest.fixture
async def fake():
    server = FakeCompassServer(certificate=CERT, users={"admin": "", "alice": "pw"})
    populate(server, queued=30)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def cli(*args: str, env: dict | None = None, stdin: bytes = b"") -> tuple[int, str, str]:
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_KEYRING_BACKEND":
                "keyring.backends.null.Keyring", **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "compass_listener", *args, env=full_env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), 30)
    return proc.returncode, out.decode(), err.decode()


def conn(fake, *extra: str, user: str = "alice") -> list[str]:
    return ["--server", f"127.0.0.1:{fake.port}", "--repo", "Sample", "--db", "SAMPL",
            "--user", user, "--trust-fingerprint", CERT.fingerprint, *extra]


async def test_hooksetup_success_json(fake, home):
    code, out, err = await cli("hooksetup", *conn(fake, "--password-env", "CP", "--json"),
                               env={"CP": "pw"})
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["status"] == 200
    assert json.loads(doc["body"])["message"].startswith("Webhooks system user")
    assert "restart" in doc["message"]
    assert fake.webhooks_configured
    assert "pw" not in out.replace("pwd", "")  # the password is never echoed


async def test_hooksetup_401_exit_1_text(fake, home):
    code, out, err = await cli("hooksetup", *conn(fake, "--password-stdin"), stdin=b"nope\n")
    assert code == 1
    assert "→ 401" in out and "Invalid user name or password" in out
    assert "password" in err and "nope" not in out + err


async def test_hooksetup_404_json(fake, home):
    fake.hooksetup_enabled = False
    code, out, _ = await cli("hooksetup", *conn(fake, "--password-env", "CP", "--json"),
                             env={"CP": "pw"})
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["status"] == 404
    assert "no hooksetup endpoint" in doc["message"]


async def test_untrusted_certificate_exit_1_names_fingerprint_then_ca_file(fake, home, tmp_path):
    args = ["--server", f"127.0.0.1:{fake.port}", "--repo", "Sample", "--db", "SAMPL",
            "--user", "admin"]
    code, out, err = await cli("hooksetup", *args, "--json")
    assert code == 1
    assert CERT.fingerprint in err and "CN=localhost" in err
    assert json.loads(out)["ok"] is False
    assert not fake.hooksetup_calls  # nothing was sent over the untrusted connection
    ca = CERT.write_ca_file(tmp_path / "ca.pem")
    code, out, err = await cli("hooksetup", *args, "--ca-file", ca)
    assert code == 0, err


async def test_deliveries_json_pages_redacts_and_explains(fake, home):
    code, out, err = await cli("deliveries", *conn(fake, "--password-env", "CP", "--json",
                                                   "--page-size", "7"), env={"CP": "pw"})
    assert code == 0, err
    doc = json.loads(out)
    assert doc["count"] == 30 and len(doc["records"]) == 30
    assert doc["fields"][:3] == ["ResponseCode", "ResponseMessage", "RetryCount"]
    assert "s3cr3t-demo" not in out and "ci-secret" not in out
    first = doc["records"][0]
    assert first["fields"]["Secret"] == "(hidden)"
    assert first["explanation"] == ("attempt 3 of 10, last reply 401 signature mismatch: "
                                    "check the secret of route /compassdefect")
    assert first["received_here"] == []
    assert fake.queries_created == fake.queries_deleted


async def test_deliveries_package_missing_exit_1(fake, home):
    code, out, err = await cli("deliveries", *conn(fake, "--password-env", "CP", "--json")[:4],
                               "--db", "TEST", "--user", "alice", "--password-env", "CP",
                               "--trust-fingerprint", CERT.fingerprint, "--json",
                               env={"CP": "pw"})
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["package_applied"] is False
    assert "not applied" in err


async def test_configs_json_marks_our_route(fake, home):
    code, out, err = await cli("configs", *conn(fake, "--password-env", "CP", "--json"),
                               env={"CP": "pw"})
    assert code == 0, err
    doc = json.loads(out)
    by_name = {c["name"]: c for c in doc["configs"]}
    assert by_name["Listener on this machine"]["points_at"] == "ours"
    assert by_name["Retired route"]["points_at"] == "local-unknown-route"
    assert by_name["CI server"]["points_at"] == "elsewhere"
    assert by_name["CI server"]["secret_set"] is True and "ci-secret" not in out
    assert "15 minutes" in doc["note"]


async def test_usage_errors_exit_2(fake, home):
    code, _, err = await cli("hooksetup", *conn(fake, "--password-env", "UNSET_VAR_XYZ"))
    assert code == 2 and "UNSET_VAR_XYZ" in err
    code, _, err = await cli("deliveries", "--repo", "r", "--db", "d", "--user", "u")
    assert code == 2 and "--server" in err
    code, _, err = await cli("hooksetup", *conn(fake)[:-2], "--trust-fingerprint", "abc")
    assert code == 2 and "fingerprint" in err


async def test_deliveries_marks_records_received_here(fake, home):
    from compass_listener.core.delivery import Delivery
    from compass_listener.store import paths
    from compass_listener.store.events import EventStore

    store = EventStore(paths.database_file())
    store.open()
    store.append_now(Delivery(
        received_at=1_700_000_000.0, route="/compassdefect", peer="127.0.0.1", method="POST",
        path="/compassdefect", headers=[], body=b"{}", body_sha256="x", signature="mismatch",
        signature_detail="", parse_status="ok", parse_problem="", record_type="Defect",
        record_id="SAMPL00000084", state="Submitted", headline="h", owner="o",
        reply_status=401, reply_body="", accepted=False))
    store.close()
    code, out, err = await cli("deliveries", *conn(fake, "--password-env", "CP", "--json"),
                               env={"CP": "pw"})
    assert code == 0, err
    records = {r["record_id"]: r for r in json.loads(out)["records"]}
    hit = records["SAMPL00000084"]
    assert [d["reply_status"] for d in hit["received_here"]] == [401]
    assert hit["received_here_text"].startswith("received here at ")
    assert records["SAMPL00000085"]["received_here"] == []


async def test_saved_profile_supplies_server_and_pinned_certificate(fake, home):
    from compass_listener.store.compass_profile import CompassProfile, store_profile
    from compass_listener.store.settings import Settings, save_settings

    settings = Settings()
    store_profile(settings, CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}))
    save_settings(settings)
    code, out, err = await cli("configs", "--password-env", "CP", "--json", env={"CP": "pw"})
    assert code == 0, err
    assert json.loads(out)["count"] == 3
