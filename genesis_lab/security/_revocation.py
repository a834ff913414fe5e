"""The lab's certificate revocation list: how an identity is taken back.

The broker takes a client's identity from its certificate (Mosquitto's
``use_identity_as_username``), so revoking an identity is revoking its certificate: the
lab CA signs a CRL naming the certificate's serial number, the broker checks every client
certificate against it (``crlfile``), and reads it again on ``kill -HUP``. ``security
init`` writes an empty CRL; ``security revoke NAME`` adds one identity's certificate.
The CRL is valid as long as the CA (a broker refuses every client once its CRL expires).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from genesis_lab.security._pki import CertifiedKey

__all__ = ["empty_crl", "revoked_serials", "with_revoked"]


def _now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


def _build(ca: CertifiedKey, revoked: list[x509.RevokedCertificate]) -> bytes:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(ca.certificate.not_valid_after_utc)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca.key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


def empty_crl(ca: CertifiedKey) -> bytes:
    """A CRL of ``ca`` revoking nothing (PEM)."""
    return _build(ca, [])


def revoked_serials(crl_pem: bytes) -> set[int]:
    """The serial numbers a CRL revokes."""
    return {entry.serial_number for entry in x509.load_pem_x509_crl(crl_pem)}


def with_revoked(crl_pem: bytes, ca: CertifiedKey, certificate: x509.Certificate) -> bytes:
    """``crl_pem`` re-signed by ``ca`` with ``certificate`` revoked too (PEM); unchanged
    entries keep their revocation dates."""
    old = list(x509.load_pem_x509_crl(crl_pem))
    if any(entry.serial_number == certificate.serial_number for entry in old):
        return crl_pem
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(certificate.serial_number)
        .revocation_date(_now())
        .build()
    )
    return _build(ca, [*old, entry])
