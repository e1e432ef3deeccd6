"""The client of ferry's own REST API (``/api/v2.0``), used by the command line to manage a running
``ferry serve``: the login file, HTTP with its errors translated into ferry's, typed calls for
registries, policies, executions and tokens, and configuration as code (apply, export).

Only ``client.py`` imports httpx. Nothing here needs the database, the workers or the server.
"""
