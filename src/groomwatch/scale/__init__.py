"""Distributed batch scanning: :func:`scan_with_dask` (needs the ``scale`` extra)."""

from __future__ import annotations

from groomwatch.scale.engine import scan_with_dask

__all__ = ["scan_with_dask"]
