"""The HTTP API: translation between HTTP and the services, no business logic."""

from headrace.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
