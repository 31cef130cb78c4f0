"""Generate a PAN 2012-format corpus XML of synthetic messages (neutral generated words), for the
reader benchmark: ``python benchmarks/gen_pan12.py [--messages 2000000] [--out PATH]``.

The layout follows the official files: ``<conversations>``, ``<conversation id=32-hex>``,
``<message line=N>`` with ``<author>`` (32-hex ids), ``<time>HH:MM</time>`` and ``<text>``.
Conversation lengths are drawn so the mean is close to the official test set's (about 13
messages); some texts carry XML escapes and some are empty, as in the real corpus. A predators
list (a few generated author ids) is written beside the XML so the reader also labels. The
output is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "pan12-synthetic-2000000.xml"

WORDS = tuple(
    """
    the a to and you i it is that of in what for on are we this my have be do not with so can
    was just but at all like if me your how good know get one time now will up out about there
    when go they no see day think want here well come back school game play music homework lunch
    weather bus train dog cat book movie match team friend later today tomorrow yes ok lol haha
    cool nice sure maybe really great thanks hello hi bye morning evening weekend class teacher
    test score level server map chat room online offline
    """.split()  # noqa: SIM905  (a readable word list)
)
# About 4% of messages carry an XML escape (&amp; &lt;), near the 2% of the official files.
PUNCT = ("",) * 20 + ("?", "!", ".", " :)", "!!", "?!") * 4 + (" &", " <3")


def generate(out: Path, messages: int, seed: int = 2012) -> tuple[int, int]:
    """Write the corpus; returns (conversations, messages)."""
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    authors = [f"{rng.getrandbits(128):032x}" for _ in range(max(50, messages // 20))]
    predators = rng.sample(authors, min(25, len(authors)))
    written = conversations = 0
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        f.write("<conversations>\n")
        while written < messages:
            n = min(messages - written, max(1, int(rng.expovariate(1 / 13.3))))
            pair = rng.sample(authors, 2)
            minute = rng.randrange(24 * 60)
            parts = [f'\t<conversation id="{rng.getrandbits(128):032x}">\n']
            for line in range(1, n + 1):
                k = rng.randrange(0, 16)
                text = " ".join(rng.choices(WORDS, k=k)) + rng.choice(PUNCT) if k else ""
                minute = (minute + rng.randrange(3)) % (24 * 60)
                parts.append(
                    f'\t\t<message line="{line}">\n'
                    f"\t\t\t<author>{pair[rng.randrange(2)]}</author>\n"
                    f"\t\t\t<time>{minute // 60:02d}:{minute % 60:02d}</time>\n"
                    f"\t\t\t<text>{escape(text)}</text>\n"
                    f"\t\t</message>\n"
                )
            parts.append("\t</conversation>\n")
            f.write("".join(parts))
            written += n
            conversations += 1
        f.write("</conversations>\n")
    tmp.replace(out)
    (out.parent / f"{out.stem}-predators.txt").write_text("\n".join(predators), encoding="utf-8")
    return conversations, written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args(argv)
    convs, msgs = generate(args.out, args.messages, args.seed)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out}: {convs:,} conversations, {msgs:,} messages, {size:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
