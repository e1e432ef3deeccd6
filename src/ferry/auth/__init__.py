"""Who may use the service: the ``admin`` account, API tokens, and a brake on guessing.

Shared by the REST API (HTTP Basic and Bearer) and the web UI (its sign-in form); each front end
turns ``SignInFailed`` and ``TooManySignIns`` into its own answer (401/429 JSON, a page).

- ``passwords``      scrypt password hashes, API tokens and their digests
- ``throttle``       the per-address sign-in throttle
- ``authenticator``  ``Authenticator`` (credentials → ``Principal``), ``ensure_admin``
"""
