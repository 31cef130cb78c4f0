"""Personal information: questions that assess the child and the adults around them."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class PersonalInformation(Tactic):
    name = "personal_information"
    title = "Asking for personal information"
    description = (
        "The adult asks where the child lives, which school they go to, their phone number, or "
        "whether their parents are around or check their phone: this assesses how vulnerable the "
        "child is and how much parental control there is (risk assessment)."
    )
    examples = (
        "what school do u go to",
        "where do you live exactly",
        "are your parents home?",
        "r u home alone",
        "do ur parents check ur phone",
        "whats ur address",
    )
    counter_examples = (
        "school was boring today",
        "i live for pizza",
        "my parents are cool",
        "the address bar is broken",
    )
