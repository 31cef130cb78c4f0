"""Routes: assessments."""

from fastapi import APIRouter

router = APIRouter()
