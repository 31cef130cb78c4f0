"""Synthetic everyday chats: ordinary conversations written for groomwatch, used as extra
negatives when training (``TrainConfig.everyday_negatives``).

Why: the training corpus (VTPAN / PAN 2012) has no ordinary one-to-one chat between young people.
Its positives are one-to-one chats in a casual teenage register (offenders with adult decoys), its
negatives mostly group IRC and adult chat. A text model fitted on it alone learns the *register*
("u on tonight?", "lol ok", "after school") as a sign of grooming, and on modern chat it warned
on a quarter of the ordinary conversations of a hand-written check set (the model card gives the
figure for every release). These generated chats show the model what ordinary talk between
friends, siblings, parents and children, classmates, team-mates, gamers and colleagues looks
like, so that the register alone stops being evidence and the content (the tactics child-
protection workers name) has to carry the warning.

Everything here was written for the project: topics of daily life (school work, games, sport,
family logistics, shows and music, pets, food, plans with friends, work), in neutral words. No
line comes from a corpus or a real conversation, and none shows a grooming tactic: no secrecy,
no gifts from strangers, no requests for images, no questions about being alone, no invitations
to meet in private, no age questions from adults. Friends arranging a trip to the park and
parents picking children up are in: that is ordinary life, and the meeting detector does find
cues in some of them, which is right (a cue is evidence for a reviewer, not a verdict).

The conversations are generated from templates with a seeded random generator, so the training
set is reproducible (same seed, same chats). The hand-written check sets (``checks/`` beside this
module) were written separately, in other words, and are only used to measure, never to train:

- ``ordinary.jsonl``: 24 ordinary chats (friends, siblings, parents and children, a coach and
  parents, a tutor, neighbours, colleagues, gamers);
- ``ordinary-hard.jsonl``: 12 ordinary chats that use the words of tactics for innocent ends (a
  surprise party kept secret, a grandmother's birthday money and a photo of the new dress, a
  cousin's trip to the cinema, a babysitter's lift, friends moving to another app);
- ``grooming.jsonl``: 12 grooming and extortion patterns written in neutral, non-graphic words
  (gifts in a game, a fake peer, an invitation to meet, a threat to share a photo, isolation,
  money, a coach, a fake scout, a streamer's viewer, an "older boyfriend").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from groomwatch.conversation import Conversation, Message

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
CHECK_SETS = {
    "ordinary": CHECKS_DIR / "ordinary.jsonl",
    "ordinary_hard": CHECKS_DIR / "ordinary-hard.jsonl",
    "grooming": CHECKS_DIR / "grooming.jsonl",
}
"""The hand-written check sets (label 0, 0 and 1): measured with every trained model, never
trained on."""

NAMES = (
    "alex", "jordan", "mika", "sasha", "robin", "charlie", "casey", "riley", "jamie", "quinn",
    "omar", "lena", "yusuf", "maria", "chen", "aisha", "pablo", "freya", "kofi", "ines",
    "tariq", "hugo", "nora", "felix", "amara", "theo", "lucia", "arjun", "emil", "sofia",
)  # fmt: skip
GAMES = ("fortnite", "minecraft", "roblox", "fifa", "rocket league", "among us", "valorant",
         "mario kart", "apex", "overwatch", "zelda", "pokemon")  # fmt: skip
SUBJECTS = ("maths", "english", "history", "geography", "biology", "chemistry", "physics",
            "french", "spanish", "art", "music", "computing", "re", "pe")  # fmt: skip
SPORTS = ("football", "netball", "basketball", "rugby", "hockey", "swimming", "tennis",
          "athletics", "cricket", "gymnastics", "dance", "karate")  # fmt: skip
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "tomorrow", "tonight", "next week", "after lunch", "this weekend")  # fmt: skip
TIMES = ("8", "9", "10", "half 3", "4", "5", "6", "7", "quarter past 4", "noon")
FOODS = ("pizza", "pasta", "tacos", "curry", "burgers", "noodles", "soup", "lasagne", "chips",
         "pancakes", "sandwiches", "rice")  # fmt: skip
SHOWS = ("the new series", "that cooking show", "the football highlights", "the anime",
         "the film with the dragons", "the quiz show", "the documentary about space")  # fmt: skip
PLACES = ("the library", "the park", "the leisure centre", "the shops", "the cinema",
          "the pool", "the bowling alley", "town", "the museum", "the sports hall")  # fmt: skip
RELATIVES = ("mum", "dad", "nan", "grandad", "my aunt", "my uncle", "my brother", "my sister",
             "my cousin", "my stepdad", "my stepmum")  # fmt: skip

# Topics: lines in turn order, the speakers alternating (two-person chats) or taking turns in
# a group. {name}, {game}, {subject}, ... are filled per conversation.
TOPICS: tuple[tuple[str, ...], ...] = (
    (  # school work
        "has anyone done the {subject} worksheet",
        "not yet, is it the one on page 40",
        "yeah the questions at the bottom",
        "i got stuck on the second part",
        "the teacher said we can use the textbook",
        "oh good, i left mine in my locker",
        "you can look at mine in registration",
        "thanks, is it due {day}",
        "yes before the lesson",
        "ok i'll finish it {day}",
    ),
    (  # gaming
        "anyone playing {game} {day}",
        "me, after i finish my chores",
        "the new update is out",
        "is the new map any good",
        "it's alright, the loading takes ages",
        "i keep losing in the final circle",
        "same, everyone camps there",
        "we should try the duo mode",
        "ok send me an invite when you're on",
        "gg last night btw",
        "that comeback was unreal",
    ),
    (  # sport
        "{sport} training is cancelled {day}",
        "why, is the coach ill",
        "the pitch is flooded apparently",
        "typical, i just got new boots",
        "there's still the match on saturday",
        "what time do we need to be there",
        "the coach said {time} at the club",
        "{relative} can give us a lift",
        "nice one, i'll tell mine",
        "don't forget your kit this time",
        "that was one time",
    ),
    (  # family logistics (parent and child)
        "what time does your club finish {day}",
        "about {time}",
        "ok i'll pick you up outside",
        "can we get {food} on the way home",
        "we'll see, we have leftovers",
        "did you feed the cat",
        "yes this morning",
        "thank you, and your room needs tidying",
        "i know i know",
        "see you later, have a good day",
        "you too",
    ),
    (  # shows and music
        "have you watched {show}",
        "i'm on episode 3",
        "the ending of episode 4 is wild",
        "don't tell me anything",
        "my lips are sealed haha",
        "the soundtrack is really good though",
        "i added it to my playlist",
        "which song is your favourite",
        "the slow one at the end",
        "same, it's so good",
    ),
    (  # pets
        "my hamster escaped again",
        "did you find him",
        "he was behind the fridge",
        "classic",
        "{relative} nearly screamed",
        "we're getting a new cage for him",
        "what's his name again",
        "biscuit",
        "best name ever",
        "he says hi",
    ),
    (  # food and cooking
        "what's for dinner",
        "{food} i think",
        "again?",
        "you can cook {day} if you want something else",
        "fine i'll make {food}",
        "we need to buy eggs then",
        "add it to the list on the fridge",
        "done",
        "and milk",
        "ok",
    ),
    (  # plans with friends (peers, parents know)
        "are you going to {place} {day}",
        "maybe, who else is going",
        "{name} and {name2}",
        "i'll ask {relative} if i can come",
        "we're meeting outside at {time}",
        "ok, i have to be back for tea",
        "same",
        "{relative} said yes",
        "yay",
        "bring some money for snacks",
    ),
    (  # work (adults)
        "can you cover my shift {day}",
        "which one, the morning",
        "yes, 8 till 2",
        "should be fine, let me check",
        "thanks, i owe you one",
        "no problem, the rota changes next week anyway",
        "did the manager send the new rota",
        "not yet, probably {day}",
        "ok let me know",
        "will do",
    ),
    (  # siblings
        "who ate the last of the cereal",
        "not me",
        "it was definitely you",
        "ok maybe it was me",
        "you're buying more",
        "i have no money",
        "ask {relative}",
        "fine",
        "and you're doing the dishes",
        "it's your turn",
        "no it's not",
    ),
    (  # weather and a day out
        "is it still raining there",
        "yeah, all day",
        "so much for the beach",
        "we're going to {place} instead",
        "that sounds fun",
        "{relative} is coming too",
        "take an umbrella",
        "already packed one",
        "tell me how it goes if it clears up",
        "will do",
    ),
    (  # clubs and hobbies
        "are you going to art club {day}",
        "yes, we're finishing the clay pots",
        "mine cracked in the kiln",
        "oh no, can you fix it",
        "the teacher said i can start again",
        "i'm painting mine blue",
        "nice, i'm doing stripes",
        "see you there",
        "save me a seat",
        "ok",
    ),
)

OPENER_SHARE = 0.7
"""Share of generated chats that open with greetings and small talk (0 before round 6)."""

TOPICS_PER_CHAT = (1, 1, 2, 3)
"""How many topics a generated chat goes through (drawn uniformly from these)."""

# Openers: most chats start with a greeting and a little small talk, in the same register as the
# corpus's positives open with; first line from one speaker, replies from the other.
GREETINGS = ("hey", "hi", "hiya", "heya", "hello", "yo", "oi", "hey hey", "hi there", "heyyy",
             "good morning", "evening", "hey {name}", "hi {name}!")  # fmt: skip
SMALL_TALK: tuple[tuple[str, str], ...] = (
    ("hows it going", "good, you?"),
    ("hows your day going", "not bad, bit tired"),
    ("what are you up to", "nothing really, just got back"),
    ("what you up to rn", "eating lol"),
    ("you ok?", "yeah all good"),
    ("long time no talk", "i know, been busy"),
    ("hows things", "same as always"),
    ("are you free", "in a bit, why"),
    ("what you doing later", "homework probably"),
    ("did you get home ok", "yep, bus was packed"),
    ("how was the weekend", "chill, you?"),
    ("you awake", "barely lol"),
)
SIGN_OFFS = ("ttyl", "bye!", "see ya", "night", "laters", "ok speak tomorrow", "gotta go, bye",
             "ok cool see you", "thanks, bye", "cya")  # fmt: skip

# How casual chat spells things: applied to some conversations' lines at random.
CASUAL = (
    ("you", "u"), ("your", "ur"), ("are", "r"), ("okay", "ok"), ("though", "tho"),
    ("tomorrow", "tmrw"), ("because", "cos"), ("going to", "gonna"), ("want to", "wanna"),
    ("i don't know", "idk"), ("to be honest", "tbh"), ("right now", "rn"), ("thanks", "thx"),
    ("please", "pls"), ("really", "rly"), ("what", "wat"),
)  # fmt: skip
FILLERS = ("lol", "haha", "omg", "ngl", "lmao", "ya", "yeah", "ok", "k", "yep", "nah", "hmm",
           "cool", "nice", "same", "fr", "wait", "true", "bruh", "sure")  # fmt: skip


def _fill(line: str, slots: dict[str, str]) -> str:
    return line.format(**slots)


def _casual(line: str, rng: random.Random) -> str:
    out = line
    for long, short in CASUAL:
        if long in out and rng.random() < 0.5:
            out = out.replace(long, short)
    if rng.random() < 0.3:
        out = out.replace("'", "")
    if rng.random() < 0.15:
        out = out + " " + rng.choice(FILLERS)
    return out


def everyday_conversation(index: int, rng: random.Random) -> Conversation:
    """One ordinary chat: one to three topics, two to four speakers, casual or plain spelling."""
    n_speakers = rng.choices((2, 3, 4), weights=(6, 2, 1))[0]
    speakers = rng.sample(NAMES, n_speakers)
    casual = rng.random() < 0.6
    slots = {
        "name": rng.choice(NAMES).capitalize(),
        "name2": rng.choice(NAMES).capitalize(),
        "game": rng.choice(GAMES),
        "subject": rng.choice(SUBJECTS),
        "sport": rng.choice(SPORTS),
        "day": rng.choice(DAYS),
        "time": rng.choice(TIMES),
        "food": rng.choice(FOODS),
        "show": rng.choice(SHOWS),
        "place": rng.choice(PLACES),
        "relative": rng.choice(RELATIVES),
    }
    lines: list[str] = []
    if rng.random() < OPENER_SHARE:
        lines.append(rng.choice(GREETINGS))
        lines.append(rng.choice(GREETINGS))
        for question, answer in rng.sample(SMALL_TALK, rng.choice((0, 1, 1, 2))):
            lines.extend((question, answer))
    for topic in rng.sample(TOPICS, rng.choice(TOPICS_PER_CHAT)):
        start = rng.randrange(0, max(1, len(topic) - 4))
        stop = rng.randrange(start + 4, len(topic) + 1)
        lines.extend(topic[start:stop])
        if rng.random() < 0.5:
            lines.append(rng.choice(FILLERS))
    if rng.random() < OPENER_SHARE / 2:
        lines.append(rng.choice(SIGN_OFFS))
    messages: list[Message] = []
    turn = 0
    for line in lines:
        text = _fill(line, slots)
        if casual:
            text = _casual(text, rng)
        if rng.random() < 0.1 and len(messages) > 0:  # a short reaction from the other side
            messages.append(
                Message(text=rng.choice(FILLERS), author=speakers[(turn + 1) % n_speakers])
            )
        messages.append(Message(text=text, author=speakers[turn % n_speakers]))
        turn += 1 if n_speakers == 2 else rng.randrange(1, n_speakers)
    return Conversation(id=f"everyday-{index}", messages=tuple(messages), label=0)


def everyday_conversations(n: int, seed: int = 0) -> list[Conversation]:
    """``n`` generated ordinary chats (label 0), the same for the same seed."""
    rng = random.Random(f"groomwatch-everyday-{seed}")  # noqa: S311 - reproducible, not secret
    return [everyday_conversation(i, rng) for i in range(n)]


def check_conversations(name: str = "ordinary") -> Sequence[Conversation]:
    """The conversations of one hand-written check set (:data:`CHECK_SETS`)."""
    from groomwatch.formats import read_conversations

    return list(read_conversations(CHECK_SETS[name]))
