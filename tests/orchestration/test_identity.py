"""Who runs a campaign, for its record: the identity the lab's broker knows, then user@host."""

from __future__ import annotations

from pathlib import Path

from tls_certs import write_pki

from genesis_lab.messaging import TransportSecurity
from genesis_lab.orchestration._provenance import broker_identity, campaign_actor, current_actor


def test_the_broker_username_comes_first_then_the_certificate_name(tmp_path: Path) -> None:
    pki = write_pki(tmp_path, clients=("orchestrator-lab1",))
    client = pki.clients["orchestrator-lab1"]
    by_user = TransportSecurity(ca_file=pki.ca, username="ada", password="not-shown")
    by_cert = TransportSecurity(ca_file=pki.ca, cert_file=client.cert, key_file=client.key)
    both = TransportSecurity(
        ca_file=pki.ca, cert_file=client.cert, key_file=client.key, username="ada", password="x"
    )
    assert broker_identity(by_user) == "ada"
    assert broker_identity(by_cert) == "orchestrator-lab1"
    assert broker_identity(both) == "ada"
    assert broker_identity(TransportSecurity(ca_file=pki.ca)) is None
    assert broker_identity(None) is None
    assert campaign_actor(by_cert) == f"orchestrator-lab1 ({current_actor()})"
    assert campaign_actor(None) == current_actor() and "@" in current_actor()
    assert "not-shown" not in campaign_actor(by_user)
