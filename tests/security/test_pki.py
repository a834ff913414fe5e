"""The lab CA and its certificates, checked by cryptography's own path validator (the
CA/Browser-forum-strict one) and by Python's ``ssl`` in a real TLS handshake."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from genesis_lab.security import (
    CertifiedKey,
    create_lab_ca,
    issue_client_certificate,
    issue_server_certificate,
)


@pytest.fixture(scope="module")
def ca() -> CertifiedKey:
    return create_lab_ca("pki-test")


def test_the_ca_is_a_self_signed_ca_that_signs_only_leaves(ca: CertifiedKey) -> None:
    cert = ca.certificate
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey)
    assert ca.common_name == "genesis-lab pki-test CA"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=3000)


def test_the_server_certificate_verifies_for_each_name_and_address(ca: CertifiedKey) -> None:
    server = issue_server_certificate(ca, ["broker.lab.example", "127.0.0.1", "localhost"])
    names = server.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["broker.lab.example", "localhost"]
    assert names.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = server.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usage.value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    policy = PolicyBuilder().store(Store([ca.certificate]))
    for subject in (
        x509.DNSName("broker.lab.example"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ):
        chain = policy.build_server_verifier(subject).verify(server.certificate, [])
        assert chain[-1] == ca.certificate
    with pytest.raises(VerificationError):
        policy.build_server_verifier(x509.DNSName("elsewhere.example")).verify(
            server.certificate, []
        )


def test_a_client_certificate_names_its_user_and_verifies_only_under_its_ca(
    ca: CertifiedKey,
) -> None:
    client = issue_client_certificate(ca, "worker-bench-a")
    assert client.common_name == "worker-bench-a"
    org = client.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert org[0].value == "genesis-lab pki-test"
    usage = client.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usage.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert client.certificate.not_valid_after_utc <= ca.certificate.not_valid_after_utc
    verifier = PolicyBuilder().store(Store([ca.certificate])).build_client_verifier()
    verified = verifier.verify(client.certificate, [])
    assert verified.chain[-1] == ca.certificate
    user = x509.UniformResourceIdentifier("urn:genesis-lab:user:worker-bench-a")
    assert verified.subjects == [user]
    other = create_lab_ca("pki-test")  # same name, other key
    with pytest.raises(VerificationError):
        PolicyBuilder().store(Store([other.certificate])).build_client_verifier().verify(
            client.certificate, []
        )


def test_keys_are_written_as_unencrypted_pkcs8_pem(ca: CertifiedKey) -> None:
    pem = issue_client_certificate(ca, "alice").key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert ca.certificate_pem().startswith(b"-----BEGIN CERTIFICATE-----")


def test_bad_requests_are_refused(ca: CertifiedKey) -> None:
    with pytest.raises(ValueError, match="at least one host"):
        issue_server_certificate(ca, [" "])
    with pytest.raises(ValueError, match="needs a username"):
        issue_client_certificate(ca, "")
    with pytest.raises(ValueError, match="at least 1 day"):
        create_lab_ca("x", days=0)


def _write(directory: Path, name: str, certified: CertifiedKey) -> tuple[str, str]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(certified.certificate_pem())
    key.write_bytes(certified.key_pem())
    return str(cert), str(key)


def test_python_ssl_completes_a_mutual_tls_handshake_with_them(
    ca: CertifiedKey, tmp_path: Path
) -> None:
    """Strict X.509 checking on both sides (VERIFY_X509_STRICT), TLS 1.2 and 1.3."""
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.certificate_pem())
    server_files = _write(tmp_path, "server", issue_server_certificate(ca, ["localhost"]))
    client_files = _write(tmp_path, "client", issue_client_certificate(ca, "alice"))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca_file))
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        server_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        server_ctx.load_cert_chain(*server_files)
        server_ctx.minimum_version = server_ctx.maximum_version = version
        client_ctx = ssl.create_default_context(cafile=str(ca_file))
        client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        client_ctx.load_cert_chain(*client_files)
        seen: dict[str, object] = {}
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]

            def serve(
                listener: socket.socket = listener,
                ctx: ssl.SSLContext = server_ctx,
                seen: dict[str, object] = seen,
            ) -> None:
                conn, _ = listener.accept()
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    seen["peer"] = tls.getpeercert()
                    tls.sendall(b"ok")

            thread = threading.Thread(target=serve, name="tls-test-server")
            thread.start()
            with (
                socket.create_connection(("127.0.0.1", port)) as raw,
                client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                assert tls.recv(2) == b"ok"
                assert tls.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
            thread.join(5)
        peer = seen["peer"]
        assert isinstance(peer, dict)
        assert (("commonName", "alice"),) in peer["subject"]
