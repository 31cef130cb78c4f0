"""Legal elements (advisory, not legal advice): for a conversation and its tactic findings, which
elements of the UK Sexual Offences Act 2003 s.15, the Lanzarote Convention arts. 22 and 23 and
18 U.S.C. 2422(b) the evidence supports, with the messages behind each.

Usage::

    from groomwatch.legal import assess_legal
    for framework in assess_legal(conversation, findings, suspect="u1"):
        print(framework.title, framework.summary)
        for element in framework.elements:
            print(" ", element.status, element.description, element.messages)
"""

from __future__ import annotations

from groomwatch.legal.assess import DISCLAIMER, ElementResult, LegalAssessment, Status, assess_legal
from groomwatch.legal.config import FrameworkConfig, LegalConfig, load_legal_config

__all__ = [
    "DISCLAIMER",
    "ElementResult",
    "FrameworkConfig",
    "LegalAssessment",
    "LegalConfig",
    "Status",
    "assess_legal",
    "load_legal_config",
]
