"""Replication: Harbor's rules for copying images between registries, and the machinery that does it.

- ``domain/``   pure values and rules: registries, policies, filters, labels, statuses, planning
- ``globs``     Harbor's filter patterns; ``naming``: destination namespace and flattening
- ``sync``      planning ``ferry sync`` against a live registry
- ``engine/``   the copy engine
"""
