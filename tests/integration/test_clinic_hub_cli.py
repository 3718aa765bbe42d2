"""A clinic's IT runs the hub from the command line: PostgreSQL, TLS, accounts."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import fresh_pg_database
from tests.factories import checkin_body
from tests.integration.test_stripe_payments import card_from_element
from tests.stripe_double import PUBLISHABLE_KEY, SECRET_KEY, StripeDouble
from workstation.storage import migrate

pytestmark = pytest.mark.postgres


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "hub.crt", folder / "hub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def clinic_db() -> Iterator[str]:
    with fresh_pg_database("ws_cli") as url:
        yield url.render_as_string(hide_password=False)


def _cli(*args: str, stdin: str = "",
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workstation", *args], input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


async def test_clinic_hub_over_tls_on_postgresql(clinic_db: str, tmp_path: Path,
                                                 stripe_double: tuple[StripeDouble, str]):
    upgrade = _cli("db", "upgrade", "--db", clinic_db)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"-> {migrate.head_revision()}" in upgrade.stdout
    # The hub's role owns the database: every other role loses the right to connect.
    assert "Other database roles: no right to connect" in upgrade.stdout

    refused = _cli("provider", "add", "--db", clinic_db, "--username", "house", "--name",
                   "Dr. House", "--service-line", "nonsense", "--password-stdin",
                   stdin="a long enough password\n")
    assert refused.returncode == 2 and "unknown service line" in refused.stderr
    wrong_npi = _cli("provider", "add", "--db", clinic_db, "--username", "house", "--name",
                     "Dr. House", "--service-line", "urgent_care", "--npi", "1234567890",
                     "--password-stdin", stdin="a long enough password\n")
    assert wrong_npi.returncode == 2 and "not a valid NPI" in wrong_npi.stderr
    demo = _cli("provider", "add", "--db", clinic_db, "--username", "demo", "--name",
                "Dr. Demo", "--service-line", "urgent_care", "--password-stdin",
                stdin="a long enough password\n")
    assert demo.returncode == 2 and "kept for the demo" in demo.stderr
    # The URL (with its password) from the environment, off the command line.
    added = _cli("provider", "add", "--username", "house", "--name",
                 "Dr. House", "--service-line", "urgent_care", "--npi", "1234567893",
                 "--password-stdin", stdin="a long enough password\n",
                 env={"WORKSTATION_DB_URL": clinic_db})
    assert added.returncode == 0, added.stderr

    cert, key = _self_signed(tmp_path)  # the key as written: readable by other accounts
    db_file = tmp_path / "db-url"
    db_file.write_text(clinic_db + "\n")
    db_file.chmod(0o600)
    site = tmp_path / "site.toml"
    days = "\n".join(f'{d} = ["00:00", "23:59:59"]' for d in
                     ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    site.write_text(f'site_name = "Test Clinic"\nfee = "39.00"\n[hours]\n{days}\n')
    # No payment processor chosen: the clinic hub does not start (it would take any card).
    refused = _cli("--site", str(site), "hub", "--port", "0", "--db-file", str(db_file))
    assert refused.returncode != 0
    assert "This clinic hub takes no payments" in refused.stderr
    double = stripe_double
    secret = tmp_path / "stripe-secret"
    secret.write_text(SECRET_KEY + "\n")
    secret.chmod(0o600)
    site.write_text(f'site_name = "Test Clinic"\nfee = "39.00"\npayment = "stripe"\n'
                    f'stripe_publishable_key = "{PUBLISHABLE_KEY}"\n'
                    f'stripe_secret_key_file = "{secret}"\n'
                    f'stripe_api_base = "{double[1]}"\n[hours]\n{days}\n')
    hub = subprocess.Popen(
        [sys.executable, "-m", "workstation", "--site", str(site), "hub", "--host", "127.0.0.1",
         "--port", "0",
         "--db-file", str(db_file), "--tls-cert", str(cert), "--tls-key", str(key)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert hub.stderr is not None
        url = None
        said = []
        for line in hub.stderr:
            said.append(line)
            if "Visit hub serving at" in line:
                url = line.rsplit(" ", 1)[1].strip()
                break
        assert url and url.startswith("https://127.0.0.1:")
        assert any(f"The TLS key {key} can be read by other accounts" in s for s in said)
        command_line = Path(f"/proc/{hub.pid}/cmdline").read_text()
        assert "postgresql" not in command_line  # nor, so, the password in the URL
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
            async with http.post(f"{url}/api/auth/sign-in", json={
                    "username": "house", "password": "a long enough password"}) as r:
                assert r.status == 200
                signed_in = await r.json()
                token = signed_in["token"]
                assert signed_in["provider"]["npi"] == "1234567893"
            async with http.get(f"{url}/api/site") as r:
                assert (await r.json())["fee"] == "39.00"
                assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
            async with http.get(f"{url}/api/setup") as r:  # no first-run setup on a clinic hub
                assert (await r.json()) == {"needs_first_provider": False}
            async with http.get(f"{url}/api/practice",  # the site file's, set by IT
                                headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "clinic_hub"
            async with http.ws_connect(f"{url}/ws/provider",
                                       headers={"Authorization": f"Bearer {token}"}) as ws:
                assert (await ws.receive_json())["type"] == "queue.snapshot"
                card = await card_from_element(double[1])
                body = {**checkin_body(), "payment": {"method": "card", "holder": "R Q",
                                                      **card}}
                async with http.post(f"{url}/api/checkins", json=body) as r:
                    assert r.status == 201, await r.text()
                [intent] = double[0].intents.values()
                assert (intent["status"], intent["amount"]) == ("succeeded", 3900)
                event = await ws.receive_json(timeout=5)
                assert event["type"] == "queue.added"
    finally:
        hub.terminate()
        hub.wait(15)
        assert hub.stderr is not None
        hub.stderr.close()
    assert hub.returncode == 0  # SIGTERM stops it cleanly
