"""Routes: tactics."""

from fastapi import APIRouter

router = APIRouter()
