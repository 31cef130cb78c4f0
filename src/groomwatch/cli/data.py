"""Commands on chat data: ``inspect`` and ``convert``."""
