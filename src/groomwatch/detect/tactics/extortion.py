"""Extortion: threats to share images, demands for more images or money, blame."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class Extortion(Tactic):
    name = "extortion"
    title = "Threats and sexual extortion"
    description = (
        "The adult threatens to share images or messages with the child's family, friends or "
        "online unless the child sends more images or money (sexual extortion), or blames the "
        "child to keep them complying and silent."
    )
    examples = (
        "if you tell anyone everyone at your school sees it",
        "send more or i'll post your pics",
        "if you dont pay ill send it to your friends",
        "everyone at your school will see",
        "i have your pictures",
        "its your fault, you sent them",
    )
    counter_examples = (
        "everyone sees the match on tv",
        "i'll post the video of my dog",
        "i'll post photos of the trip on the class page",
        "send more memes",
        "everyone at school is tired",
        "its my fault we lost",
    )
