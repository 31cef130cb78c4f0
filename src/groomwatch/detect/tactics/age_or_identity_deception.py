"""Age or identity deception: lying about age, gender or appearance."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class AgeOrIdentityDeception(Tactic):
    name = "age_or_identity_deception"
    title = "Lying about age or identity"
    description = (
        "The adult hides who they are: lies about their age, gender or appearance, poses as a "
        "child or a teenager, or plays down the age gap ('age is just a number'), so that they can "
        "present as more of an equal and gain the young person's trust."
    )
    examples = (
        "age is just a number",
        "does my age bother you?",
        "i lied about my age, im actually older",
        "thats not really my pic",
        "do u mind that im older",
    )
    counter_examples = (
        "what is the number for the pizza place",
        "i am older than my brother",
        "my pic from the beach",
        "how old is your dog",
    )
