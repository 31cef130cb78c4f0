"""The hotline: reports from the public, case management, evidence integrity and the audit log.

The domain only (no web framework): ``models`` (tables), ``workflow`` (categories, statuses,
transitions, roles), ``reports`` (submission, reference numbers, status links), ``cases``
(analyst work, duplicates, referral export), ``evidence`` (content-addressed store, content
sniffing), ``analysis`` (chat exports through ``formats`` and ``detect``, images through
``media``), ``audit`` (hash-chained log), ``users``, ``triage``, ``statistics``, ``retention``.
The HTTP side is ``groomwatch.server.routes.public`` and ``groomwatch.server.routes.analyst``.
"""
