"""The Mosquitto files a lab gets: password hashes as ``mosquitto_passwd`` makes them, the
ACL's grants per role, the configuration's settings, and the names a lab may use."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from genesis_lab.errors import LabSetupError
from genesis_lab.messages import (
    TOPIC_PREFIX,
    campaign_results_topic,
    station_acks_topic,
    station_control_topic,
    station_requests_topic,
    station_status_topic,
)
from genesis_lab.security import (
    BrokerIdentity,
    LabRoles,
    acl_text,
    check_mosquitto_password,
    mosquitto_config_text,
    mosquitto_password_hash,
    password_file_text,
    role_topics,
    worker_username,
)

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


# ------------------------------------------------------------------ passwords
def test_our_hash_is_the_one_mosquitto_passwd_writes(tmp_path: Path) -> None:
    """Same algorithm, iterations, salt and hash encoding: recompute mosquitto_passwd's
    line from its own salt and get it byte for byte."""
    path = tmp_path / "passwd"
    password = "correct horse battery staple ü"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(path), "alice", password],
        check=True,
        capture_output=True,
        timeout=10,
    )
    username, theirs = path.read_text().strip().split(":", 1)
    assert username == "alice"
    _, kind, iterations, salt, _ = theirs.split("$")
    assert kind == "7"
    ours = mosquitto_password_hash(
        password, salt=base64.b64decode(salt), iterations=int(iterations)
    )
    assert ours == theirs
    assert check_mosquitto_password(password, theirs)
    assert not check_mosquitto_password(password + "!", theirs)


def test_a_fresh_hash_has_a_random_salt_and_checks() -> None:
    first, second = mosquitto_password_hash("pw"), mosquitto_password_hash("pw")
    assert first != second and first.startswith("$7$101$")
    assert check_mosquitto_password("pw", first) and check_mosquitto_password("pw", second)
    with pytest.raises(ValueError, match=r"\$7\$"):
        check_mosquitto_password("pw", "$6$salt$hash")


def test_the_password_file_has_one_hashed_line_per_user_and_no_password() -> None:
    text = password_file_text({"orchestrator": "s3cret-one", "worker-a": "s3cret-two"})
    lines = text.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["orchestrator", "worker-a"]
    assert "s3cret" not in text
    assert check_mosquitto_password("s3cret-two", lines[1].split(":", 1)[1])
    for bad in ("a:b", "two words", ""):
        with pytest.raises(ValueError, match="cannot be a Mosquitto username"):
            password_file_text({bad: "pw"})


# ----------------------------------------------------------------------- roles
def test_roles_name_every_identity_once() -> None:
    roles = LabRoles("orch", ("bench-a", "bench-b"), ("alice",))
    assert roles.identities() == [
        BrokerIdentity("orch", "orchestrator"),
        BrokerIdentity("worker-bench-a", "worker", "bench-a"),
        BrokerIdentity("worker-bench-b", "worker", "bench-b"),
        BrokerIdentity("alice", "observer"),
    ]
    assert worker_username("bench-a") == "worker-bench-a"


@pytest.mark.parametrize(
    ("roles", "setting", "match"),
    [
        (("orch", (), ()), "station", "at least one station"),
        (("orch", ("a/b",), ()), "station", "station id 'a/b' cannot be used"),
        (("orch", ("#",), ()), "station", "cannot be used in a topic"),
        (("orch", ("a",), ("bob smith",)), "observer", "observer name"),
        (("or+ch", ("a",), ()), "orchestrator", "orchestrator name"),
        (("orch", ("a", "a"), ()), "station", "same username"),
        (("worker-a", ("a",), ()), "station", "same username as orchestrator"),
        (("orch", ("a",), ("orch",)), "observer", "same username"),
    ],
)
def test_bad_or_clashing_names_are_refused(
    roles: tuple[str, tuple[str, ...], tuple[str, ...]], setting: str, match: str
) -> None:
    with pytest.raises(LabSetupError, match=match) as caught:
        LabRoles(*roles)
    assert caught.value.setting == setting


# ------------------------------------------------------------------------- ACL
def _blocks(text: str) -> dict[str, list[str]]:
    """user -> its grant lines; fails on any grant outside a user block."""
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "user":
            current = rest
            assert current not in blocks, f"two blocks for {current}"
            blocks[current] = []
        else:
            assert keyword == "topic", f"only user and topic lines: {line!r}"
            assert current is not None, f"a grant for anonymous clients: {line!r}"
            blocks[current].append(rest)
    return blocks


def test_the_acl_grants_each_role_exactly_its_topics() -> None:
    roles = LabRoles("orchestrator", ("bench-a", "bench-b"), ("alice",), operators=("carol",))
    blocks = _blocks(acl_text(roles))
    assert blocks["orchestrator"] == [
        "write genesis-lab/v1/stations/+/requests",
        "readwrite genesis-lab/v1/stations/+/control",
        "readwrite genesis-lab/v1/stations/control",
        "write genesis-lab/v1/stations/+/acks",
        "readwrite genesis-lab/v1/campaigns/+/control",
        "read genesis-lab/v1/stations/+/status",
        "read genesis-lab/v1/campaigns/+/results",
    ]
    assert blocks["worker-bench-a"] == [
        f"read {station_requests_topic('bench-a')}",
        f"read {station_control_topic('bench-a')}",
        f"read {station_control_topic()}",
        f"read {station_acks_topic('bench-a')}",
        f"readwrite {station_status_topic('bench-a')}",  # read: one worker per station
        "write genesis-lab/v1/campaigns/+/results",
    ]
    assert blocks["alice"] == [f"read {TOPIC_PREFIX}/#"]
    # An operator (issue 14, item 4) controls stations and reads their presence: it can
    # neither dispatch (requests), nor acknowledge or publish results, nor add a trial.
    assert blocks["carol"] == [
        "readwrite genesis-lab/v1/stations/+/control",
        "readwrite genesis-lab/v1/stations/control",
        "read genesis-lab/v1/stations/+/status",
    ]
    assert set(blocks) == {"orchestrator", "worker-bench-a", "worker-bench-b", "carol", "alice"}


@given(
    stations=st.lists(
        st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}", fullmatch=True),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_no_worker_may_touch_another_stations_topics(stations: list[str]) -> None:
    blocks = _blocks(acl_text(LabRoles("orchestrator-main", tuple(stations))))
    for station in stations:
        grants = blocks[worker_username(station)]
        filters = {grant.split(" ", 1)[1] for grant in grants}
        assert filters == {
            station_requests_topic(station),
            station_control_topic(station),
            station_control_topic(),
            station_acks_topic(station),
            station_status_topic(station),
            "genesis-lab/v1/campaigns/+/results",
        }
        writes = {g.split(" ", 1)[1] for g in grants if g.startswith(("write", "readwrite"))}
        assert writes == {station_status_topic(station), "genesis-lab/v1/campaigns/+/results"}


def test_the_results_filter_matches_every_campaigns_results_topic() -> None:
    worker = BrokerIdentity("worker-a", "worker", "a")
    results = next(t for access, t in role_topics(worker) if "results" in t)
    assert topic_matches_sub(results, campaign_results_topic("any-campaign"))
    assert not topic_matches_sub(results, station_status_topic("a"))


# ----------------------------------------------------------------- the config
def test_the_config_has_one_tls_listener_and_the_certificate_is_the_identity(
    tmp_path: Path,
) -> None:
    text = mosquitto_config_text(
        port=8883,
        cafile=tmp_path / "ca.crt",
        certfile=tmp_path / "broker.crt",
        keyfile=tmp_path / "broker.key",
        crl_file=tmp_path / "crl.pem",
        acl_file=tmp_path / "acl",
        lab="demo",
        user="mosquitto",
    )
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert [s for s in settings if s.startswith("listener")] == ["listener 8883"]
    for expected in (
        "allow_anonymous false",
        f"acl_file {tmp_path / 'acl'}",
        f"cafile {tmp_path / 'ca.crt'}",
        f"certfile {tmp_path / 'broker.crt'}",
        f"keyfile {tmp_path / 'broker.key'}",
        "require_certificate true",
        "use_identity_as_username true",  # issue 14, item 5: no other identity's password
        f"crlfile {tmp_path / 'crl.pem'}",
        "tls_version tlsv1.2",
        "user mosquitto",
    ):
        assert expected in settings
    assert not [s for s in settings if s.startswith("password_file")]
    # Global settings first, then the listener and what belongs to it.
    assert settings.index("allow_anonymous false") < settings.index("listener 8883")
    assert settings.index("listener 8883") < settings.index("require_certificate true")


def test_the_config_refuses_what_it_cannot_say(tmp_path: Path) -> None:
    files = {
        "cafile": tmp_path / "ca.crt",
        "certfile": tmp_path / "b.crt",
        "keyfile": tmp_path / "b.key",
        "crl_file": tmp_path / "crl.pem",
        "acl_file": tmp_path / "acl",
    }
    with pytest.raises(ValueError, match="port"):
        mosquitto_config_text(port=0, **files)
    with pytest.raises(ValueError, match=r"cannot be written into mosquitto\.conf"):
        mosquitto_config_text(port=8883, **{**files, "acl_file": tmp_path / "a\nallow_anonymous"})
