"""headrace: self-hosted functions on customer event data."""

__version__ = "0.1.0"
