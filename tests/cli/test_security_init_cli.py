"""``genesis-lab security init`` as an operator meets it: what it writes, with which
modes, what it prints (never a password), and how it refuses bad input or old keys."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner, Result

from genesis_lab.cli import app

cli = CliRunner()
ME = pwd.getpwuid(os.geteuid()).pw_name
USERS = ["orchestrator", "worker-bench-a", "worker-bench-b", "alice"]


def init(out: Path, *extra: str) -> Result:
    return cli.invoke(
        app,
        [
            "security", "init", "--lab", "cli-lab", "--station", "bench-a",
            "--station", "bench-b", "--observer", "alice", "--out", str(out), *extra,
        ],
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_every_file_with_its_mode_and_prints_no_secret(tmp_path: Path) -> None:
    out = tmp_path / "lab"
    result = init(out, "--broker-user", ME, "--hostname", "broker.lab.example", "--port", "18883")
    assert result.exit_code == 0, result.output
    secrets = {
        out / "ca" / "ca.key",
        out / "broker" / "broker.key",
        out / "broker" / "acl",
    }
    public = {out / "mosquitto.conf", out / "ca" / "ca.crt", out / "broker" / "ca.crt"}
    public.add(out / "lab.json")  # what add-operator and add-station build on (no secret)
    public |= {out / "broker" / "broker.crt", out / "broker" / "crl.pem"}
    for user in USERS:
        home = out / "identities" / user
        assert _mode(home) == 0o700
        secrets.add(home / "client.key")
        public |= {home / "client.crt", home / "ca.crt"}
    # Ed25519 signing keys for those who sign, and the public keys each one trusts.
    for user in USERS[:3]:
        home = out / "identities" / user
        secrets.add(home / "signing.key")
        public.add(home / "signing.pub")
    orchestrator, workers = out / "identities" / "orchestrator", USERS[1:3]
    public |= {orchestrator / "trust" / f"{w}.pub" for w in workers}
    public |= {out / "identities" / w / "trust" / "orchestrator.pub" for w in workers}
    for w in workers:
        own = (out / "identities" / w / "signing.pub").read_bytes()
        assert (orchestrator / "trust" / f"{w}.pub").read_bytes() == own
        trusted = out / "identities" / w / "trust" / "orchestrator.pub"
        assert trusted.read_bytes() == (orchestrator / "signing.pub").read_bytes()
    written = {p for p in out.rglob("*") if p.is_file()}
    assert written == secrets | public
    assert {p for p in written if _mode(p) == 0o600} == secrets
    assert {p for p in written if _mode(p) == 0o644} == public
    assert _mode(out / "ca") == 0o700 and _mode(out / "broker") == 0o700

    # Each identity is its certificate: its name is the username the broker applies, and
    # no private key is ever printed. The revocation list starts empty.
    for user in USERS:
        cert = x509.load_pem_x509_certificate(
            (out / "identities" / user / "client.crt").read_bytes()
        )
        assert cert.subject.rfc4514_string().startswith(f"CN={user},")
        key = (out / "identities" / user / "client.key").read_text()
        assert key.splitlines()[1] not in result.output
    assert list(x509.load_pem_x509_crl((out / "broker" / "crl.pem").read_bytes())) == []

    config = (out / "mosquitto.conf").read_text()
    assert "listener 18883\n" in config and f"user {ME}\n" in config
    server = x509.load_pem_x509_certificate((out / "broker" / "broker.crt").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.lab.example"]

    text = " ".join(result.output.split())  # unwrapped
    assert f"mosquitto -c {out / 'mosquitto.conf'}" in text
    assert "mqtts://broker.lab.example:18883" in text
    for user in USERS:
        assert f"identities/{user}/" in text
    assert f"--tls-key {out}/identities/worker-bench-b/client.key" in text
    assert "--password-file" not in text and "--username" not in text
    assert "keep it offline" in text


def test_an_existing_lab_is_refused_and_force_replaces_it(tmp_path: Path) -> None:
    out = tmp_path / "lab"
    assert init(out, "--broker-user", ME).exit_code == 0
    ca_before = (out / "ca" / "ca.crt").read_bytes()
    again = init(out, "--broker-user", ME)
    assert again.exit_code == 2
    message = " ".join(again.stderr.split())
    assert "already holds a lab's files" in message and "--force" in message
    assert "ca/ca.crt" in message and "Traceback" not in again.output
    assert (out / "ca" / "ca.crt").read_bytes() == ca_before

    forced = init(out, "--broker-user", ME, "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "ca" / "ca.crt").read_bytes() != ca_before
    assert not [p for p in out.rglob("*.tmp")]


def test_a_directory_of_other_files_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "lab"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert init(out, "--broker-user", ME).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--station", "bench/c"], "station id 'bench/c' cannot be used in a topic"),
        (["--station", "bench-a"], "same username"),
        (["--observer", "worker-bench-a"], "same username"),
        (["--orchestrator", "al ice"], "orchestrator name"),
        (["--hostname", "not a host"], "neither an IP address nor a DNS name"),
        (["--port", "70000"], "--port must be between 1 and 65535"),
        (["--broker-user", "no-such-user-here"], "is not a user of this machine"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    tmp_path: Path, extra: list[str], complaint: str
) -> None:
    out = tmp_path / "lab"
    result = init(out, *extra)
    assert result.exit_code == 2, result.output
    assert complaint in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written


def test_a_bad_lab_name_or_out_exits_2(tmp_path: Path) -> None:
    result = cli.invoke(
        app, ["security", "init", "--lab", "my lab", "--station", "a", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "lab name 'my lab'" in result.stderr
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = init(a_file)
    assert result.exit_code == 2 and "is not a directory" in result.stderr
    missing = cli.invoke(app, ["security", "init", "--lab", "x", "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "--station" in missing.output


def test_an_unwritable_out_exits_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = init(blocker / "lab", "--broker-user", ME)
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to the mosquitto user needs root")
def test_as_root_the_broker_files_go_to_the_mosquitto_user(tmp_path: Path) -> None:
    """Mosquitto started as root becomes 'mosquitto' before it reads any file: the broker's
    files are made its own, the config says so, and a directory it cannot enter is named."""
    broker = pwd.getpwnam("mosquitto")
    out = tmp_path / "lab"
    result = init(out)
    assert result.exit_code == 0, result.output
    for path in (out / "broker", *(out / "broker").iterdir()):
        assert path.stat().st_uid == broker.pw_uid, path
    assert (out / "ca" / "ca.key").stat().st_uid == 0
    assert "user mosquitto\n" in (out / "mosquitto.conf").read_text()
    blocked = next(p for p in [*reversed(out.parents)] if not _mode(p) & 0o001)
    warning = " ".join(result.stderr.split())
    assert f"Mosquitto runs as 'mosquitto' but cannot enter {blocked}" in warning
