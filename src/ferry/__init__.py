"""ferry: container-image replication between registries.

Layers, lowest first: ``errors`` → ``oci`` (pure values) → ``distribution`` (the registry HTTP API)
→ ``replication`` (filters, naming, the copy engine) → ``cli``.
"""

__version__ = "0.1.0"
