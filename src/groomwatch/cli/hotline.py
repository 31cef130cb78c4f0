"""Commands: hotline."""
