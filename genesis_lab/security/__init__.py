"""Security: the lab's certificates and keys, broker access rules, and signed messages.

Below the orchestrator and the worker, beside messaging and the store: nothing here opens
a connection or moves hardware; it makes and checks credentials and signatures.
"""

from genesis_lab.security._deployment import (
    DEFAULT_BROKER_PORT,
    IdentityFiles,
    LabDeployment,
    default_broker_hostnames,
    init_lab,
)
from genesis_lab.security._keys import (
    PublicKey,
    SigningKey,
    generate_signing_key,
    key_id_of,
    load_public_key,
    load_signing_key,
    public_key_from_pem,
    public_key_path,
)
from genesis_lab.security._mosquitto import (
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
from genesis_lab.security._pki import (
    CertifiedKey,
    create_lab_ca,
    issue_client_certificate,
    issue_server_certificate,
)
from genesis_lab.security._signing import (
    DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_FUTURE_S,
    SIGNING_CONTEXT,
    MemoryNonces,
    MessageSigner,
    MessageSigning,
    MessageVerifier,
    NonceStore,
    Verified,
    canonical_json,
    document_signature,
    signed_bytes,
    verify_document_signature,
)

__all__ = [
    "DEFAULT_BROKER_PORT",
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_FUTURE_S",
    "SIGNING_CONTEXT",
    "BrokerIdentity",
    "CertifiedKey",
    "IdentityFiles",
    "LabDeployment",
    "LabRoles",
    "MemoryNonces",
    "MessageSigner",
    "MessageSigning",
    "MessageVerifier",
    "NonceStore",
    "PublicKey",
    "SigningKey",
    "Verified",
    "acl_text",
    "canonical_json",
    "check_mosquitto_password",
    "create_lab_ca",
    "default_broker_hostnames",
    "document_signature",
    "generate_signing_key",
    "init_lab",
    "issue_client_certificate",
    "issue_server_certificate",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
    "mosquitto_config_text",
    "mosquitto_password_hash",
    "password_file_text",
    "public_key_from_pem",
    "public_key_path",
    "role_topics",
    "signed_bytes",
    "verify_document_signature",
    "worker_username",
]
