"""Commands: media."""
