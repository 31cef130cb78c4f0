"""Secrecy: keeping the relationship and the messages secret."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class Secrecy(Tactic):
    name = "secrecy"
    title = "Secrecy"
    description = (
        "The adult asks the child to keep part or all of the relationship secret: not to tell "
        "parents or friends, to delete the messages, to hide the chat, because 'nobody would "
        "understand' or 'we would get in trouble'. Secrecy keeps the child silent and stops them "
        "from telling anyone what is happening."
    )
    examples = (
        "your parents cant know about us",
        "no need to ask your mum, its fine",
        "dont tell your mom about me ok",
        "this is our little secret",
        "delete our chat after ok",
        "keep this between us",
        "if ur parents find out we'll get in trouble",
    )
    counter_examples = (
        "my parents know about the party",
        "tell your mom i said hi",
        "the secret ingredient is garlic",
        "i deleted the game, it was boring",
        "between us and the other team we won",
    )
