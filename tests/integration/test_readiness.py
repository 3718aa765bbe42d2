"""`workstation check`, the readiness check IT runs after an install, against real parts: a hub
over TLS on a loopback port, STUN and TURN answering on real sockets, the keyring, an encrypted
database in a temporary folder, Qt under Xvfb and without a display, and the VP8 encoder."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from aioice import stun
from aioice.turn import make_integrity_key
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from keyring.backends import fail, null

from tests.integration.test_clinic_hub_cli import _self_signed
from tests.memory_keyring import MemoryKeyring
from workstation import readiness_commands
from workstation.core.site import SiteConfig
from workstation.devices.audio import list_audio_devices
from workstation.devices.camera import list_cameras
from workstation.hub.server import start_hub, tls_context
from workstation.readiness import Check, Finding, media, ready, run_checks
from workstation.readiness.local_data import check_database, check_keyring
from workstation.readiness.network import check_hub, check_ice_servers
from workstation.readiness.runner import run_check
from workstation.readiness.screen import DESKTOP_FIX

IDS = ["screen", "camera", "microphone", "speaker", "hub", "ice", "keyring", "database",
       "video_encoding"]


# -- the hub -----------------------------------------------------------------------------------

def _clinic_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A clinic's own certificate authority, and a hub certificate it issued for 127.0.0.1
    (valid 90 days): the authority's file, the hub's certificate and key."""
    now = dt.datetime.now(dt.UTC)

    def issue(subject: str, key: Any, issuer: str, signer: Any, *, authority: bool) -> Any:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=1))
                   .not_valid_after(now + dt.timedelta(days=90))
                   .add_extension(x509.BasicConstraints(ca=authority, path_length=None),
                                  critical=True))
        if not authority:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    authority_key, hub_key = ec.generate_private_key(ec.SECP256R1()), \
        ec.generate_private_key(ec.SECP256R1())
    authority = issue("Clinic IT authority", authority_key, "Clinic IT authority",
                      authority_key, authority=True)
    hub = issue("127.0.0.1", hub_key, "Clinic IT authority", authority_key, authority=False)
    paths = folder / "clinic-ca.crt", folder / "clinic-hub.crt", folder / "clinic-hub.key"
    paths[0].write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(hub.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(hub_key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


async def test_a_hub_whose_certificate_this_pc_does_not_trust_fails_until_it_does(
        sqlite_store, site, resources, tmp_path: Path, monkeypatch) -> None:
    authority, cert, key = _clinic_authority(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    hub = await start_hub(sqlite_store, site, resources, ssl_context=tls_context(cert, key))
    try:
        untrusted = await asyncio.to_thread(check_hub, hub.url)
        assert untrusted.status == "fail"
        assert untrusted.message == (f"The hub at {hub.url} shows a certificate this PC does "
                                     "not trust (unable to get local issuer certificate).")
        assert "Install the clinic's certificate authority" in untrusted.fix

        # The clinic's authority installed in this PC's trust (OpenSSL reads SSL_CERT_FILE).
        monkeypatch.setenv("SSL_CERT_FILE", str(authority))
        trusted = await asyncio.to_thread(check_hub, hub.url)
        assert trusted.status == "pass", trusted
        assert re.fullmatch(rf"The hub at {hub.url} answered in \d+ ms over TLSv1\.[23]; its "
                            r"certificate is trusted\.", trusted.message)
        assert trusted.fix == ""

        # Trusted, but reached by a name the certificate does not carry.
        by_name = hub.url.replace("127.0.0.1", "localhost")
        mismatch = await asyncio.to_thread(check_hub, by_name)
        assert mismatch.status == "fail"
        assert "does not name localhost" in mismatch.message
        assert "certificate naming localhost" in mismatch.fix
    finally:
        await hub.close()


async def test_a_self_signed_hub_certificate_fails_and_one_about_to_expire_warns(
        sqlite_store, site, resources, tmp_path: Path, monkeypatch) -> None:
    cert, key = _self_signed(tmp_path)  # valid for one day
    key.chmod(0o600)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    hub = await start_hub(sqlite_store, site, resources, ssl_context=tls_context(cert, key))
    try:
        untrusted = await asyncio.to_thread(check_hub, hub.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        expiring = await asyncio.to_thread(check_hub, hub.url)
    finally:
        await hub.close()
    assert untrusted.status == "fail"
    assert "(self-signed certificate)" in untrusted.message
    assert expiring.status == "warn"
    assert expiring.message.endswith("its certificate is trusted but expires in 1 day.")
    assert "Renew the hub's certificate" in expiring.fix


async def test_a_plain_http_hub_fails_unless_it_runs_on_this_pc(
        sqlite_store, site, resources) -> None:
    remote = check_hub("http://hub.clinic.example:8443")
    assert remote.status == "fail"
    assert "plain http: not encrypted" in remote.message
    assert "https://" in remote.fix

    hub = await start_hub(sqlite_store, site, resources)  # plain http on 127.0.0.1
    try:
        local = await asyncio.to_thread(check_hub, hub.url)
    finally:
        await hub.close()
    assert local.status == "warn"
    assert "without encryption (http on this PC only)" in local.message

    gone = await asyncio.to_thread(check_hub, hub.url)  # the same address, nobody there now
    assert gone.status == "fail"
    assert "cannot be reached" in gone.message
    assert f"on port {hub.url.rsplit(':', 1)[1]}" in gone.fix


def test_with_no_clinic_hub_the_embedded_one_needs_nothing_reached() -> None:
    embedded = check_hub("")
    assert embedded.status == "pass"
    assert "embedded hub" in embedded.message


# -- STUN and TURN -----------------------------------------------------------------------------

class TurnServer(asyncio.DatagramProtocol):
    """Answers as a TURN server does (RFC 8656): an Allocate without credentials gets 401 with
    a realm and nonce; with the right ones, a relayed address. Without ``password``, a plain
    STUN server: Binding requests get the address they came from."""

    def __init__(self, username: str = "", password: str = "") -> None:
        self.username = username
        self.key = make_integrity_key(username, "clinic", password) if password else b""
        self.transport: Any = None
        self.usernames: list[str | None] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        method, attributes = request.message_method, request.attributes
        self.usernames.append(attributes.get("USERNAME"))
        answer = stun.Message(method, stun.Class.RESPONSE, request.transaction_id)
        if method == stun.Method.BINDING:
            answer.attributes["XOR-MAPPED-ADDRESS"] = ("203.0.113.7", 40000)
        elif "USERNAME" not in attributes:
            answer = stun.Message(method, stun.Class.ERROR, request.transaction_id)
            answer.attributes.update({"ERROR-CODE": (401, "Unauthorized"), "REALM": "clinic",
                                      "NONCE": b"n0nce"})
        elif attributes["USERNAME"] == self.username:
            if method == stun.Method.ALLOCATE:
                answer.attributes["XOR-RELAYED-ADDRESS"] = ("203.0.113.9", 50000)
                answer.attributes["XOR-MAPPED-ADDRESS"] = addr
            answer.attributes["LIFETIME"] = attributes.get("LIFETIME", 600)
            answer.add_message_integrity(self.key)
        else:
            return
        self.transport.sendto(bytes(answer), addr)


@contextlib.asynccontextmanager
async def serving(protocol: TurnServer) -> AsyncIterator[int]:
    """``protocol`` on a UDP port of 127.0.0.1; the port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol,
                                                       local_addr=("127.0.0.1", 0))
    try:
        yield int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


def test_no_stun_or_turn_server_is_a_warning_not_a_failure() -> None:
    found = check_ice_servers([])
    assert found.status == "warn"
    assert "same network only" in found.message
    assert "ice_servers" in found.fix


async def test_a_turn_server_that_relays_passes_and_one_that_does_not_answer_fails() -> None:
    turn = TurnServer("workstation", "s3cret-credential")
    async with serving(turn) as port, serving(TurnServer()) as stun_port:
        relaying = {"urls": [f"turn:127.0.0.1:{port}"], "username": "workstation",
                    "credential": "s3cret-credential"}
        found = await asyncio.to_thread(check_ice_servers, [relaying])
        assert found.status == "pass", found
        assert re.fullmatch(rf"turn:127\.0\.0\.1:{port}: gave a relay in \d+ ms\.",
                            found.message)
        assert "workstation" in turn.usernames  # the site's credentials were used

        stun_only = await asyncio.to_thread(check_ice_servers,
                                            [{"urls": f"stun:127.0.0.1:{stun_port}"}])
        assert stun_only.status == "warn"
        assert "gave this network's public address" in stun_only.message
        assert "No TURN server is set" in stun_only.message

        dead = {"urls": ["turn:127.0.0.1:9"], "username": "workstation",
                "credential": "s3cret-credential"}
        failed = await asyncio.to_thread(check_ice_servers, [relaying, dead])
    assert failed.status == "fail"
    assert failed.message == "turn:127.0.0.1:9: no answer (a relay not obtained)."
    assert "s3cret" not in failed.message + failed.fix


# -- the keyring and the database ------------------------------------------------------------

def test_the_keyring_writes_reads_back_and_deletes(memory_keyring: MemoryKeyring) -> None:
    found = check_keyring()
    assert found.status == "pass", found
    assert "MemoryKeyring) wrote, read back and deleted a secret" in found.message
    assert memory_keyring._secrets == {}


@pytest.mark.parametrize(("backend", "said"), [
    (fail.Keyring(), "No usable keyring (keyring.backends.fail.Keyring)"),
    (null.Keyring(), "accepted a secret but did not give it back"),
])
def test_a_keyring_that_keeps_nothing_fails(backend: Any, said: str) -> None:
    keyring.set_keyring(backend)  # the autouse memory keyring fixture puts its own back after
    found = check_keyring()
    assert found.status == "fail"
    assert said in found.message
    assert "Install and unlock a system keyring" in found.fix


def test_the_database_check_writes_encrypted_and_leaves_nothing_behind(
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    visits = data_dir / "workstation.db"
    visits.write_bytes(b"the provider's own database: not to be touched")
    found = check_database(data_dir)
    assert found.status == "pass", found
    assert f"encrypted test database in {data_dir}" in found.message
    assert list(data_dir.iterdir()) == [visits]
    assert visits.read_bytes() == b"the provider's own database: not to be touched"
    assert memory_keyring._secrets == {}  # the scratch database's key is gone too

    fresh = tmp_path / "new" / "data"  # a first run: the folder is made, then removed again
    assert check_database(fresh).status == "pass"
    assert not (tmp_path / "new").exists()


def test_the_database_check_fails_without_a_keyring_or_a_writable_folder(
        tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    unwritable = check_database(not_a_folder / "data")
    assert unwritable.status == "fail"
    assert f"The data folder {not_a_folder / 'data'} cannot be written" in unwritable.message
    assert "--data-dir" in unwritable.fix

    keyring.set_keyring(fail.Keyring())
    no_key = check_database(tmp_path / "data")
    assert no_key.status == "fail"
    assert "No key could be kept for the database: No system keyring was found" in \
        no_key.message
    assert "Keyring check" in no_key.fix
    assert not (tmp_path / "data").exists()


# -- the screen --------------------------------------------------------------------------------

@contextlib.contextmanager
def xvfb(size: str) -> Iterator[str]:
    """A real X server (Xvfb) with a screen of ``size`` (such as "1600x900"); its DISPLAY."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as said:
        number = said.readline().strip()  # written once the server accepts connections
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def _start_qt(**env: str) -> Finding:
    """The screen check as a fresh ``workstation check`` runs it (Qt started in a forked child),
    from a fresh interpreter with this environment: no Qt application of the tests' own is
    inherited, and the interpreter surviving Qt's abort is part of what is checked."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(
        [sys.executable, "-c", "import json, dataclasses\n"
         "from workstation.readiness.screen import start_qt_and_check\n"
         "print(json.dumps(dataclasses.asdict(start_qt_and_check())))"],
        env={**environment, **env}, capture_output=True, text=True, timeout=30, check=True)
    return Finding(**json.loads(done.stdout))


def test_qt_on_a_real_x_screen_passes_with_its_size_and_warns_when_it_is_small() -> None:
    with xvfb("1600x900") as display:
        found = _start_qt(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    assert found == Finding("pass", "Qt platform xcb: screen 'screen', 1600×900.")
    with xvfb("1024x768") as display:
        small = _start_qt(DISPLAY=display)  # Qt's default platform on Linux: xcb
    assert small.status == "warn"
    assert small.message.startswith("Qt platform xcb: screen 'screen', 1024×768. The "
                                    "workstation is laid out for 1366×768 or more")


def test_qt_offscreen_warns_that_no_real_screen_was_checked() -> None:
    found = _start_qt(QT_QPA_PLATFORM="offscreen")
    assert found.status == "warn"
    assert "'offscreen' platform: nothing is shown on a real screen" in found.message
    assert "desktop session" in found.fix


def test_a_display_that_does_not_answer_fails_without_ending_the_check() -> None:
    found = _start_qt(DISPLAY=":63")  # no X server there: Qt aborts the process it runs in
    assert found == Finding("fail", "Qt could not connect to the display ':63': no X server "
                                    "answers there.", DESKTOP_FIX)
    none = _start_qt()  # with no display at all, Qt is not even started
    assert none.status == "fail"
    assert "neither DISPLAY (X11) nor WAYLAND_DISPLAY is set" in none.message
    assert none.fix == DESKTOP_FIX


# -- sound -------------------------------------------------------------------------------------

def test_a_sound_device_that_opens_passes_the_microphone_and_speaker_checks(
        tmp_path: Path) -> None:
    """ALSA's null device as the system's default (these machines have no sound card): real
    PortAudio streams open on it, record silence and play into nothing."""
    config = tmp_path / "asound.conf"
    config.write_text("pcm.!default {\n    type null\n}\n")
    done = subprocess.run(
        [sys.executable, "-c", "import json, dataclasses\n"
         "from workstation.readiness.media import check_microphone, check_speaker\n"
         "print(json.dumps([dataclasses.asdict(check_microphone()), "
         "dataclasses.asdict(check_speaker())]))"],
        env={**os.environ, "ALSA_CONFIG_PATH": str(config)}, capture_output=True, text=True,
        timeout=30, check=True)
    microphone, speaker = (Finding(**f) for f in json.loads(done.stdout))
    assert microphone == Finding("pass", "The default microphone sends sound (found: "
                                         "'default').")
    assert speaker.status == "pass"
    assert speaker.message.startswith("The default speaker opened (found: 'default').")


# -- video encoding ----------------------------------------------------------------------------

def test_the_vp8_encoding_speed_is_measured_and_judged() -> None:
    found = media.check_video_encoding()
    measured = re.search(r"at (\d+) frames per second", found.message)
    assert measured, found
    fps = float(measured.group(1))
    assert fps > 0
    expected = "pass" if fps >= 30 else "warn" if fps >= 15 else "fail"
    assert found.status == expected, found


# -- running them ------------------------------------------------------------------------------

def test_a_check_that_crashes_or_hangs_fails_alone() -> None:
    release = threading.Event()

    def crash() -> Finding:
        raise RuntimeError("the driver fell over")

    def hang() -> Finding:
        release.wait(30)
        return Finding("pass", "too late")

    try:
        results = run_checks([Check("crash", "Crashing", True, crash),
                              Check("hang", "Hanging", False, hang, timeout_s=0.2),
                              Check("fine", "Fine", True, lambda: Finding("pass", "fine"))])
    finally:
        release.set()
    assert [(r.id, r.status) for r in results] == [("crash", "fail"), ("hang", "fail"),
                                                   ("fine", "pass")]
    assert results[0].message == "The check itself failed: RuntimeError: the driver fell over"
    assert results[1].message == "The check did not finish within 0.2 s."
    assert not ready(results)  # the required crash blocks; the optional hang alone would not
    assert ready(results[1:])
    assert run_check(Check("fine", "Fine", True, lambda: Finding("pass", "ok", "ignored"))
                     ).fix == ""


def _run(hub_url: str, tmp_path: Path, *, as_json: bool) -> int:
    return readiness_commands.run(argparse.Namespace(json=as_json), SiteConfig(),
                                  data_dir=tmp_path / "data", hub_url=hub_url)


def test_check_json_reports_every_check_and_exits_1_when_a_required_one_fails(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code = _run("http://hub.clinic.example", tmp_path, as_json=True)
    out = capsys.readouterr().out
    report = json.loads(out)  # the whole of standard output is the one object
    assert code == 1
    assert report["ok"] is False
    assert [c["id"] for c in report["checks"]] == IDS
    checks = {c["id"]: c for c in report["checks"]}
    for check in report["checks"]:
        assert set(check) == {"id", "name", "status", "required", "message", "fix"}
        assert check["status"] in ("pass", "warn", "fail")
        assert (check["fix"] == "") == (check["status"] == "pass"), check
    assert checks["hub"]["status"] == "fail" and checks["hub"]["required"]
    assert checks["screen"]["status"] == "warn"
    assert checks["ice"] == {**checks["ice"], "status": "warn", "required": False}
    assert checks["keyring"]["status"] == "pass"
    assert checks["database"]["status"] == "pass"
    assert not (tmp_path / "data").exists()
    if not list_cameras():  # as on these machines
        assert checks["camera"]["status"] == "fail"
        assert checks["camera"]["fix"].startswith("Plug in a camera")
    if not list_audio_devices():  # as on these machines
        assert checks["microphone"]["message"] == ("No microphone found: the system shows no "
                                                   "sound input.")
        assert checks["speaker"]["fix"].startswith("Plug in a headset")


def test_check_prints_a_line_a_check_with_its_fix_and_a_verdict(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code = _run("", tmp_path, as_json=False)
    lines = capsys.readouterr().out.splitlines()
    heads = [line for line in lines if re.match(r"(PASS|WARN|FAIL) ", line)]
    assert [h.split()[1] for h in heads] == ["Screen", "Camera", "Microphone", "Speaker", "Hub",
                                              "STUN/TURN", "Keyring", "Database", "Video"]
    assert heads[4].startswith("PASS  Hub ")
    assert heads[5].startswith("WARN  STUN/TURN (optional) No STUN or TURN server")
    for index, head in enumerate(heads):
        if not head.startswith("PASS"):
            after = lines[lines.index(head) + 1:]
            fix = next(line for line in after if "Fix:" in line or line in heads[index + 1:])
            assert "Fix: " in fix, head
    blocking = [head[6:27].strip() for head in heads
                if head.startswith("FAIL") and "(optional)" not in head]
    assert code == (1 if blocking else 0)
    assert lines[-1].startswith(
        f"Not ready: {len(blocking)} required check{'s' if len(blocking) > 1 else ''} "
        f"failed: {', '.join(blocking)} ("
        if blocking else "Ready: every required check passed")


def test_the_check_command_takes_json() -> None:
    parser = argparse.ArgumentParser()
    readiness_commands.add_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["check", "--json"]) == argparse.Namespace(command="check",
                                                                       json=True)
