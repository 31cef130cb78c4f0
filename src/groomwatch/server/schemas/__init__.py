"""Pydantic schemas of the detection API: separate ``Create``/``Update``/``Public`` models per
entity (full-stack-fastapi-template style). They describe the wire format in OpenAPI; the core's
own validation (:meth:`groomwatch.conversation.Conversation.from_dict`) still runs on
conversations, so its field-named errors reach the client as 422s."""
