"""Schemas of the tactic catalogue."""

from __future__ import annotations

from pydantic import BaseModel


class TacticPublic(BaseModel):
    name: str
    title: str
    description: str
    examples: list[str]


class TacticsPublic(BaseModel):
    data: list[TacticPublic]
    count: int
