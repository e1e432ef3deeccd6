"""Pure OCI values: references, digests, media types, descriptors and manifests. No I/O here."""
