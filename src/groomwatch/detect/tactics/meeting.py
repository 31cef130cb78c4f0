"""Meeting: arranging to meet offline, travel, places and times."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class Meeting(Tactic):
    name = "meeting"
    title = "Arranging to meet"
    description = (
        "The adult arranges to meet the child in the real world: proposes to meet, names a place "
        "or a time, offers to pick the child up, or travels to them. Online grooming often aims at "
        "an offline meeting, sometimes after weeks or months of contact."
    )
    examples = (
        "we should meet up sometime",
        "i can pick u up after school",
        "when can i see you in person",
        "lets meet at the mall saturday",
        "i can drive to your town",
    )
    counter_examples = (
        "nice to meet you",
        "we had a meeting at school",
        "i picked up my room",
        "see you in class",
    )
