"""A lab's certificate authority and the certificates it issues, made with ``cryptography``.

One self-signed CA per lab signs a server certificate for the broker (its host names and
addresses as subject alternative names) and one client certificate per identity (common
name = the identity's broker username). Keys are ECDSA P-256, signatures SHA-256: what
OpenSSL (Mosquitto) and Python's ``ssl`` (paho) both speak over TLS 1.2 and 1.3. The
certificates carry what strict verifiers ask for (Python's ``VERIFY_X509_STRICT``): a
critical basic-constraints extension, key usage, extended key usage, and subject and
authority key identifiers, and subject alternative names on every leaf.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertifiedKey",
    "create_lab_ca",
    "issue_client_certificate",
    "issue_server_certificate",
    "load_certified_key",
]

CA_DAYS = 3650
"""Validity of a lab CA, in days (ten years: the CA key is meant to be kept offline)."""
LEAF_DAYS = 825
"""Validity of the broker's and the identities' certificates, in days."""
USER_URN_PREFIX = "urn:genesis-lab:user:"
"""A client certificate's subject alternative name is this prefix and the username."""
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clocks a little behind the one that signed


@dataclass(frozen=True)
class CertifiedKey:
    """A private key and the certificate that binds it to a name."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def common_name(self) -> str:
        """The subject's common name (for a client certificate: the broker username)."""
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value)

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """The private key, PKCS#8 PEM, unencrypted (Mosquitto reads it unattended)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _subject(lab: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"genesis-lab {lab}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_lab_ca(lab: str, *, days: int = CA_DAYS, now: dt.datetime | None = None) -> CertifiedKey:
    """A new self-signed CA for ``lab``: it may sign leaf certificates, not other CAs."""
    if days < 1:
        raise ValueError(f"a CA must be valid for at least 1 day, got {days}")
    start = (now or _now()) - _BACKDATE
    key = _new_key()
    name = _subject(lab, f"genesis-lab {lab} CA")
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertifiedKey(certificate, key)


def _issue(
    ca: CertifiedKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    alt_names: Sequence[x509.GeneralName],
    days: int,
    now: dt.datetime | None,
) -> CertifiedKey:
    if days < 1:
        raise ValueError(f"a certificate must be valid for at least 1 day, got {days}")
    start = (now or _now()) - _BACKDATE
    end = min(start + dt.timedelta(days=days), ca.certificate.not_valid_after_utc)
    key = _new_key()
    public = key.public_key()
    organisation = ca.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    subject_attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        name = NameOID.ORGANIZATION_NAME
        subject_attributes.insert(0, x509.NameAttribute(name, str(organisation[0].value)))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject_attributes))
        .issuer_name(ca.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return CertifiedKey(builder.sign(ca.key, hashes.SHA256()), key)


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server_certificate(
    ca: CertifiedKey,
    hostnames: Sequence[str],
    *,
    days: int = LEAF_DAYS,
    now: dt.datetime | None = None,
) -> CertifiedKey:
    """The broker's certificate, valid for every name and IP address in ``hostnames``.

    Clients check the host they connect to against these names, so list every name and
    address the broker is reached by.
    """
    hosts = [h.strip() for h in hostnames if h.strip()]
    if not hosts:
        raise ValueError("the broker's certificate needs at least one host name or address")
    unique = list(dict.fromkeys(hosts))
    return _issue(
        ca, unique[0], ExtendedKeyUsageOID.SERVER_AUTH, [_alt_name(h) for h in unique], days, now
    )


def issue_client_certificate(
    ca: CertifiedKey, username: str, *, days: int = LEAF_DAYS, now: dt.datetime | None = None
) -> CertifiedKey:
    """A client certificate whose common name is the broker ``username`` it belongs to.

    The username is also its subject alternative name (``urn:genesis-lab:user:NAME``), for
    verifiers that, as RFC 5280 asks, read identities from that extension alone.
    """
    if not username:
        raise ValueError("a client certificate needs a username")
    alt_names = [x509.UniformResourceIdentifier(f"{USER_URN_PREFIX}{username}")]
    return _issue(ca, username, ExtendedKeyUsageOID.CLIENT_AUTH, alt_names, days, now)


def load_certified_key(certificate_pem: bytes, key_pem: bytes) -> CertifiedKey:
    """A certificate and its private key from PEM (the lab CA's, to issue more
    credentials); ``ValueError`` if they are not a certificate and its EC key."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the key is not an elliptic-curve key")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValueError("the key does not belong to the certificate")
    return CertifiedKey(certificate, key)
