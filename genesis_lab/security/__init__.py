"""Security: the lab's certificates and keys, broker access rules, and signed messages.

Below the orchestrator and the worker, beside messaging and the store: nothing here opens
a connection or moves hardware; it makes and checks credentials and signatures.
"""

__all__: list[str] = []
