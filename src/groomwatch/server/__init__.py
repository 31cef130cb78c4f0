"""The HTTP service: the real-time detection API for platforms, the hotline's public pages and the
analysts' pages, in one FastAPI application (:func:`groomwatch.server.app.create_app`)."""
