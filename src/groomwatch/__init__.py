"""groomwatch: early warning of online grooming and sexual extortion of children in chat.

The core (``conversation``, ``formats``, ``detect``, ``legal``) needs no web framework and no
database; the service, the hotline, media matching and distributed scanning are optional extras.
"""

__version__ = "0.1.0"
