"""The OCI Distribution API over HTTP: auth challenges, manifests, blobs, uploads, tags and retries.

Only ``transport.py`` imports the HTTP library; the rest of this package sees its ``Reply`` and
``TransportFailure``, and everything above this package sees ferry's own values (``Manifest``,
``Digest``) and ferry's exception tree.
"""
