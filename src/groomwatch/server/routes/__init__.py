"""One module per resource, each with an ``APIRouter`` named ``router``; :data:`ROUTE_MODULES`
lists them in the order the application includes them."""

ROUTE_MODULES: tuple[str, ...] = (
    "health",  # /healthz, /readyz, /metrics
    "tactics",  # /v1/tactics
    "assessments",  # /v1/assessments
    "conversations",  # /v1/conversations/...
    "reviews",  # /v1/reviews (alerts queued for human review, decisions)
    "media",  # /v1/media/match
    "public",  # the hotline's public pages: report, status, check a conversation, warning signs
    "analyst",  # the hotline's analyst pages: login, queue, cases, statistics
)
