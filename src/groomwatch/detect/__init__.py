"""The detection engine: risk model, streaming early warning, attribution, tactics.

Public interface::

    from groomwatch.detect import Detector, Assessment, AlertPolicy, Monitor, StreamUpdate, Finding
    det = Detector.load()                   # the shipped model and packaged cues
    det.assess(conversation)                # -> Assessment
    det.assess_many(conversations)          # -> Iterator[Assessment], vectorised batch path
    mon = det.monitor()                     # -> Monitor; mon.update(message) -> StreamUpdate
"""

from __future__ import annotations

from groomwatch.detect.detector import Assessment, Detector
from groomwatch.detect.monitor import Monitor, MonitorStateError, StreamUpdate
from groomwatch.detect.policy import AlertPolicy
from groomwatch.detect.tactics.base import Finding

__all__ = [
    "AlertPolicy",
    "Assessment",
    "Detector",
    "Finding",
    "Monitor",
    "MonitorStateError",
    "StreamUpdate",
]
