"""The screens, one module each: ``account`` (sign-in, sign-out, language), ``dashboard``,
``registries``, ``replications`` (the rules and their executions) with ``replication_rules``
(the rule form), ``webhooks``. Routes are declared in these modules and included by ``ferry.web.app``."""
