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

__all__ = [
    "DEFAULT_BROKER_PORT",
    "BrokerIdentity",
    "CertifiedKey",
    "IdentityFiles",
    "LabDeployment",
    "LabRoles",
    "acl_text",
    "check_mosquitto_password",
    "create_lab_ca",
    "default_broker_hostnames",
    "init_lab",
    "issue_client_certificate",
    "issue_server_certificate",
    "mosquitto_config_text",
    "mosquitto_password_hash",
    "password_file_text",
    "role_topics",
    "worker_username",
]
