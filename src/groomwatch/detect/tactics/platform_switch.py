"""Platform switch: moving the contact to phone, webcam, video, another app or email."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class PlatformSwitch(Tactic):
    name = "platform_switch"
    title = "Moving to another app, phone or webcam"
    description = (
        "The adult moves the conversation somewhere more private or more direct: phone calls and "
        "texts, webcam or video chat, another app or email. Groomers look for more real contact "
        "(voice, video) before they meet, and private channels are harder to moderate."
    )
    examples = (
        "add me on snap",
        "whats ur number?",
        "do u have a webcam",
        "lets talk on whatsapp instead",
        "can i call you tonight",
        "text me at this number",
    )
    counter_examples = (
        "i snapped my pencil",
        "the number of the question is 4",
        "call of duty is fun",
        "my camera broke",
    )
