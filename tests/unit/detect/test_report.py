"""The HTML report: self-contained, escaped, with the chart and the alert point."""

from __future__ import annotations

import re

from groomwatch.conversation import Conversation, Message
from groomwatch.detect import AlertPolicy, Detector
from groomwatch.detect.report import render_report, risk_chart


def test_report_escapes_text_and_needs_nothing_external(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    hostile = Conversation(
        id="<b>x</b>",
        messages=(
            Message("<script>alert(1)</script> don't tell your parents", author="<i>a</i>"),
            Message('<img src="http://example.org/x.png"> ok', author="b"),
        ),
    )
    policy = AlertPolicy(threshold=0.0)
    items = [(c, detector.assess(c, policy)) for c in (hostile, by_id["g1"], by_id["o1"])]
    page = render_report(detector, items, policy.threshold)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<svg" in page
    assert "warning at message 0" in page
    assert "Secrecy" in page  # plain-language tactic title
    assert 'class="ev"' in page  # evidence span highlighted
    assert "Next steps" in page
    assert "Legal elements" in page
    assert "Sexual Offences Act" in page


def test_report_lists_only_flagged(detector: Detector, by_id: dict[str, Conversation]) -> None:
    policy = AlertPolicy(threshold=1.0)
    items = [(by_id["o1"], detector.assess(by_id["o1"], policy))]
    page = render_report(detector, items, policy.threshold)
    assert "No conversation was flagged" in page
    assert "practice" not in page


def test_risk_chart_marks_the_alert() -> None:
    svg = risk_chart([0.1, 0.5, 0.9], 0.6, 2)
    assert svg.startswith("<svg")
    assert "<circle" in svg
    assert "warning at message 2" in svg
    assert risk_chart([], 0.5, None) == ""
    assert "<circle" not in risk_chart([0.1], 0.5, None)
