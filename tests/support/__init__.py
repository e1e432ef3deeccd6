"""Test-only infrastructure: real registries, a token server, fault injectors, an oracle.

Nothing in this package may import ``ferry``: it is the independent reference
the product is checked against.  See ``README.md`` in this directory.
"""
