"""Commands: detect."""
