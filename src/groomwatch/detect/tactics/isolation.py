"""Isolation: turning the child against friends and family."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class Isolation(Tactic):
    name = "isolation"
    title = "Isolation from friends and family"
    description = (
        "The adult tries to separate the child from the people around them, sabotaging the "
        "child's friendships and family ties: 'your parents don't understand you', 'only I "
        "understand you', 'you don't need them'. This makes the child rely on the adult and "
        "leaves fewer chances to talk to others about what is happening."
    )
    examples = (
        "meet me there and come alone",
        "dont bring anyone with you",
        "ur parents dont understand u like i do",
        "only i really understand you",
        "you dont need your friends, you have me",
        "they dont care about you",
        "your friends are so immature",
    )
    counter_examples = (
        "i was home alone and bored",
        "i dont understand the math homework",
        "my friends are coming over",
        "only i have the key lol",
        "my parents care a lot about grades",
    )
