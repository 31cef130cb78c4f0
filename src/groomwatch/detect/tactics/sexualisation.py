"""Sexualisation: sexual topics, "true love", sexual education, desensitising."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class Sexualisation(Tactic):
    name = "sexualisation"
    title = "Sexualising the relationship"
    description = (
        "The adult progressively brings sex into the relationship: talk about 'true love', "
        "questions about the child's body or sexual experience, offering to 'teach' them "
        "(sexual education), or showing pornography to desensitise the child and lower their "
        "inhibitions."
    )
    # Examples are deliberately mild: clinical words, never sexual content involving a child.
    examples = (
        "have you ever been kissed",
        "i think we have true love",
        "do you know about sex",
        "i could teach you things",
        "have you seen porn before",
    )
    counter_examples = (
        "i love pizza",
        "we learned about plants in biology",
        "my teacher will teach us fractions",
        "kiss the baby goodnight for me",
    )
