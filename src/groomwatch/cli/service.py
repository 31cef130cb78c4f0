"""Commands: service."""
