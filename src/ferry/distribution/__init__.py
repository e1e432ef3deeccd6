"""The OCI Distribution API over HTTP: auth challenges, manifests, blobs, uploads, tags and retries.

This is the only package that imports the HTTP library; everything above it sees ferry's own
values (``Manifest``, ``Digest``) and ferry's exception tree.
"""
