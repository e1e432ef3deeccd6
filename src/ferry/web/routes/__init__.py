"""The screens, one module each: ``account`` (sign-in, sign-out, language), ``dashboard``,
``registries``. Routes are declared in these modules and included by ``ferry.web.app``."""
