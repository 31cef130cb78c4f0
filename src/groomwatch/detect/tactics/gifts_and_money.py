"""Gifts and money: gifts, phones, prepaid cards, cash, game currency."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class GiftsAndMoney(Tactic):
    name = "gifts_and_money"
    title = "Gifts and money"
    description = (
        "The adult offers or sends gifts such as mobile phones, prepaid or top-up cards, cash, "
        "clothes or game currency. Gifts fill a child's needs, create a feeling of debt, and can "
        "be used later as leverage."
    )
    examples = (
        "i can buy you the battle pass",
        "ill gift you the new skin",
        "i can buy you a new phone",
        "want me to send u a gift card?",
        "ill get you some robux",
        "i'll top up your phone",
        "i can send you money if u want",
    )
    counter_examples = (
        "i bought the battle pass myself",
        "my mom bought me shoes",
        "the game is free",
        "i have no money lol",
        "that card game is fun",
    )
