"""Replication's pure domain: registries, policies, filters, label rules, statuses and planning.

Values and rules only: nothing here performs I/O, reads settings or knows about the store, the
jobs or the API, so every rule can be tested exhaustively and reused by each layer above.

- ``registry``   registry endpoints, provider types, credentials, the local registry
- ``policy``     replication policies (rules), their filters and triggers, ``validate_policy``
- ``labels``     the label filter rule over Harbor labels, image config labels and annotations
- ``status``     Harbor's job, execution and task vocabularies and the execution status rule
- ``plan``       a policy run planned from a source listing, without touching a registry, and why a
                 name filter matches nothing (with the pattern that would)
- ``fields``     ``InvalidField``: validation errors that name the field and the fix
- ``events``     registry notifications and Harbor webhooks parsed into artifact events
- ``scope``      which event-based policies an event starts, the execution's scope, deletion plans
- ``webhooks``   outgoing webhook policies, targets, event types, deliveries; ``validate_webhook_policy``
"""
