"""One router per resource, mounted under ``/api/v2.0`` by ``ferry.api.app``."""
