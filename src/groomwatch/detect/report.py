"""A self-contained HTML report of a scan (``groomwatch scan --report REPORT.html``).

One file, no external assets (inline CSS and SVG), every piece of chat text escaped. For each
flagged conversation (or one whose warning fired): the risk over the messages with the alert point,
the tactics found in plain language, the messages with the flagged ones highlighted and labelled,
the legal elements the evidence supports (when :mod:`groomwatch.legal` is available) and next
steps (:mod:`groomwatch.advice`). It supports human review; it is not proof of anything.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from string import Template
from typing import Any

from groomwatch.conversation import Conversation
from groomwatch.detect.detector import Assessment, Detector
from groomwatch.detect.fusion import describe_driver

MAX_MESSAGES_SHOWN = 2000

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>groomwatch scan report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:980px;
padding:1rem 1.5rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;border-top:2px solid #ddd;
padding-top:1rem}h3{font-size:1rem;margin-bottom:.3rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f5f5f7}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
.msg.flag{background:#fdecea}.msg .i{color:#888;width:3.5rem}.msg .a{font-weight:600;width:8rem}
.tag{display:inline-block;background:#b3261e;color:#fff;border-radius:.6rem;padding:0 .45rem;
margin:.1rem .2rem 0 0;font-size:.78rem}.risk{font-variant-numeric:tabular-nums}
.ev{background:#ffd7d2}svg{max-width:100%;height:auto}
</style></head><body>
<h1>groomwatch scan report</h1>
<p class="note">This report supports human review. A score is not proof and nothing here should
be acted on against a person without a trained reviewer reading the conversation. Chat evidence
is personal data: keep this file as securely as the chats themselves.</p>
<p>Generated $generated &middot; model $model &middot; threshold $threshold, persistence window
$window, minimum messages $min_messages &middot; $n_scanned conversations scanned,
$n_flagged flagged.</p>
$summary
$sections
</body></html>
"""
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def risk_chart(history: Sequence[float], threshold: float, first_alert: int | None) -> str:
    """An inline SVG line chart of the risk after each message, with the threshold and the
    message at which the warning fired."""
    w, h, pad = 640, 170, 30
    n = len(history)
    if n == 0:
        return ""

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(r: float) -> float:
        return h - pad - (h - 2 * pad) * max(0.0, min(1.0, r))

    points = " ".join(f"{x(i):.1f},{y(r):.1f}" for i, r in enumerate(history))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        f'height="{h}" role="img" aria-label="risk after each message">',
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#fafafa"/>',
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{w - pad}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{y(1):.1f}" x2="{pad}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="4" y="{y(1) + 4:.1f}" font-size="10">1.0</text>',
        f'<text x="4" y="{y(0) + 4:.1f}" font-size="10">0.0</text>',
        f'<line x1="{pad}" y1="{y(threshold):.1f}" x2="{w - pad}" y2="{y(threshold):.1f}" '
        'stroke="#f0b400" stroke-dasharray="5,4"/>',
        f'<text x="{w - pad - 60}" y="{y(threshold) - 4:.1f}" font-size="10" fill="#8a6d00">'
        "threshold</text>",
        f'<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="{points}"/>',
        f'<text x="{w / 2 - 40:.0f}" y="{h - 6}" font-size="10">message (0 to {n - 1})</text>',
    ]
    if first_alert is not None and 0 <= first_alert < n:
        ax, ay = x(first_alert), y(history[first_alert])
        parts += [
            f'<line x1="{ax:.1f}" y1="{y(1):.1f}" x2="{ax:.1f}" y2="{y(0):.1f}" '
            'stroke="#b3261e" stroke-dasharray="3,3"/>',
            f'<circle cx="{ax:.1f}" cy="{ay:.1f}" r="5" fill="#b3261e"/>',
            f'<text x="{ax + 6:.1f}" y="{y(1) + 10:.1f}" font-size="11" fill="#b3261e">'
            f"warning at message {first_alert}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """Escaped ``text`` with the evidence spans marked."""
    out: list[str] = []
    pos = 0
    for s, e in sorted(spans):
        if s < pos or e <= s or e > len(text):
            continue
        out.append(_e(text[pos:s]))
        out.append(f'<mark class="ev">{_e(text[s:e])}</mark>')
        pos = e
    out.append(_e(text[pos:]))
    return "".join(out)


def _legal(conv: Conversation, a: Assessment) -> str:
    """The legal elements the evidence supports (:func:`groomwatch.legal.assess_legal`)."""
    from groomwatch.legal import assess_legal

    results = assess_legal(conv, a)
    if not results:
        return ""
    parts = ["<h3>Legal elements (advisory, not legal advice)</h3>"]
    for fw in results:
        items = "".join(
            f"<li><strong>{_e(el.status)}</strong>: {_e(el.description)}"
            + (f" (messages {_e(', '.join(str(m) for m in el.messages))})" if el.messages else "")
            + (f" &middot; {_e(el.note)}" if el.note else "")
            + "</li>"
            for el in fw.elements
        )
        parts.append(f"<h4>{_e(fw.title)}</h4><p>{_e(fw.summary)}</p><ul>{items}</ul>")
    parts.append(f"<p><em>{_e(results[0].disclaimer)}</em></p>")
    return "".join(parts)


def _next_steps(audience: str) -> str:
    """Next steps for the reader (:func:`groomwatch.advice.next_steps`)."""
    from groomwatch.advice import AUDIENCES, next_steps

    steps = next((next_steps(a) for a in AUDIENCES if a == audience), ())
    if not steps:
        return ""
    items = "".join(f"<li><strong>{_e(s.title)}</strong>: {_e(s.text)}</li>" for s in steps)
    return f"<h3>Next steps</h3><ol>{items}</ol>"


def _section(
    detector: Detector, conv: Conversation, a: Assessment, threshold: float, audience: str
) -> str:
    titles = {t.name: t.title for t in detector.registry}
    descriptions = {t.name: t.description for t in detector.registry}
    counts = Counter(f.tactic for f in a.findings)
    by_msg: dict[int, list[Any]] = {}
    for f in a.findings:
        by_msg.setdefault(f.message, []).append(f)
    grooming = set(a.grooming_messages)
    tactic_rows = "".join(
        f"<tr><td>{_e(titles.get(name, name))}</td><td>{n}</td><td>"
        f"{_e(descriptions.get(name, ''))}"
        "</td></tr>"
        for name, n in counts.most_common()
    )
    msgs = []
    for i, m in enumerate(conv.messages[:MAX_MESSAGES_SHOWN]):
        found = by_msg.get(i, [])
        flag = bool(found) or i in grooming
        tags = "".join(
            f'<span class="tag">{_e(titles.get(t, t))}</span>'
            for t in dict.fromkeys(f.tactic for f in found)
        )
        if i in grooming and not found:
            tags = '<span class="tag">high-risk message</span>'
        spans = [(f.start, f.end) for f in found if f.end > f.start]
        alert = " <strong>(warning fired)</strong>" if a.first_alert == i else ""
        msgs.append(
            f'<tr class="msg{" flag" if flag else ""}"><td class="i">{i}{alert}</td>'
            f'<td class="a">{_e(m.author or "")}</td><td>{_e(m.time or "")}</td>'
            f"<td>{_highlight(m.text, spans)}<br>{tags}</td></tr>"
        )
    more = (
        f"<p>Only the first {MAX_MESSAGES_SHOWN} of {len(conv.messages)} messages are shown.</p>"
        if len(conv.messages) > MAX_MESSAGES_SHOWN
        else ""
    )
    return (
        f'<section id="c-{_e(conv.id)}"><h2>Conversation {_e(conv.id)}</h2>'
        f'<p>Risk <span class="risk">{a.risk:.3f}</span>; warning at message '
        f"{_e(a.first_alert if a.first_alert is not None else 'none')}; most likely groomer: "
        f"{_e(a.suspect or 'not known (no authors)')}.</p>"
        + (
            f'<p class="driver">{_e(describe_driver(a.components, threshold))}</p>'
            if a.components
            else ""
        )
        + f"{risk_chart(a.risk_history, threshold, a.first_alert)}"
        + (
            "<h3>Tactics found</h3><table><tr><th>tactic</th><th>messages</th>"
            f"<th>what it means</th></tr>{tactic_rows}</table>"
            if tactic_rows
            else ""
        )
        + f"<h3>Messages</h3><table>{''.join(msgs)}</table>{more}"
        + _legal(conv, a)
        + _next_steps(audience)
        + "</section>"
    )


def render_report(
    detector: Detector,
    items: Sequence[tuple[Conversation, Assessment]],
    threshold: float,
    *,
    window: int = 1,
    min_messages: int = 1,
    n_scanned: int | None = None,
    audience: str = "platform",
) -> str:
    """The HTML report of the flagged conversations in ``items`` (conversations not flagged and
    without a warning are counted, not shown)."""
    shown = [(c, a) for c, a in items if a.flagged or a.first_alert is not None]
    summary_rows = "".join(
        f'<tr><td><a href="#c-{_e(a.id)}">{_e(a.id)}</a></td>'
        f'<td class="risk">{a.risk:.3f}</td>'
        f"<td>{_e(a.first_alert if a.first_alert is not None else '')}</td>"
        f"<td>{_e(a.suspect or '')}</td><td>{len(a.findings)}</td></tr>"
        for _c, a in shown
    )
    summary = (
        "<table><tr><th>conversation</th><th>risk</th><th>warning at</th><th>suspect</th>"
        f"<th>findings</th></tr>{summary_rows}</table>"
        if shown
        else "<p>No conversation was flagged.</p>"
    )
    sections = "".join(_section(detector, c, a, threshold, audience) for c, a in shown)
    return _PAGE.substitute(
        generated=_e(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        model=_e(detector.fingerprint),
        threshold=_e(f"{threshold:.3f}"),
        window=window,
        min_messages=min_messages,
        n_scanned=n_scanned if n_scanned is not None else len(items),
        n_flagged=len(shown),
        summary=summary,
        sections=sections,
    )
