"""The web UI: Harbor-style screens rendered on the server (Jinja2), in English and Simplified
Chinese (Babel catalogs), signed in with a session cookie and protected against cross-site forms.

It calls the same services as the REST API (``ferry.services``: the stores, ``ReplicationService``,
the registry ping), never the API over HTTP, and imports nothing of ``ferry.api``.

- ``app``        ``create_web_app``: the routes, static files, error pages
- ``sessions``   the signed session cookie: who is signed in, the CSRF token, a flash message
- ``visit``      one request as the pages see it (session, language), sign-in and CSRF checks
- ``i18n``       languages: negotiation, catalogs, formatting of times and sizes
- ``templating`` the Jinja2 environments (one per language) and rendering
- ``forms``      form fields → domain values, domain errors → messages next to their fields
- ``routes/``    the screens: account (sign-in, sign-out, language), dashboard, registries
"""
