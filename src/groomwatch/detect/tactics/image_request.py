"""Image requests: asking for photos, webcam or video of the child."""

from __future__ import annotations

from groomwatch.detect.tactics.base import Tactic


class ImageRequest(Tactic):
    name = "image_request"
    title = "Asking for pictures or webcam"
    description = (
        "The adult asks the child for photos, selfies or video, or to turn on the webcam. "
        "Requests usually start innocent and escalate; images the child sends can then be used to "
        "blackmail them (sexual extortion)."
    )
    examples = (
        "send me a pic",
        "can i see a picture of u",
        "turn on ur cam",
        "send another selfie",
        "show me what you look like",
    )
    counter_examples = (
        "i saw a picture of a cat",
        "the camera app is slow",
        "send me the homework",
        "show me the game",
    )
