"""Trust building: flattery and a "special relationship"."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class TrustBuilding(Tactic):
    name = "trust_building"
    title = "Trust building and flattery"
    description = (
        "The adult works to gain the child's trust and to be seen as a trusted peer or a caring "
        "older person: flattery, telling the child they are special or mature for their age, "
        "saying they understand and care for the child like nobody else, to build an emotional "
        "connection and a 'special relationship'."
    )
    examples = (
        "ur really mature for ur age",
        "you are so special to me",
        "you can tell me anything, i will always be here for you",
        "you're not like other girls your age",
        "u can trust me",
    )
    counter_examples = (
        "this pizza is special",
        "can you tell me the homework for monday",
        "my mum is here",
        "trust the process lol",
    )
