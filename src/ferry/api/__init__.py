"""The Harbor-compatible REST API (``/api/v2.0``): registries, replication policies, executions,
tasks and their logs, with Harbor's field names, status words, paging and error bodies, so
Harbor's clients and the guide's curl commands work against ferry unchanged.

- ``app``         the FastAPI application and its exception-handler map
- ``security``    HTTP Basic for ``admin`` and API tokens; password hashing; sign-in throttling
- ``errors``      Harbor's error body and the translation of ferry's errors into HTTP statuses
- ``query``       Harbor's list conventions: ``q``, ``sort``, ``page``, ``page_size``, ``Link``
- ``schemas``     request bodies (unknown fields refused) and the JSON shapes of responses
- ``routes``      one module per resource
"""
