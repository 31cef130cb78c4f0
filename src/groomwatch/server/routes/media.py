"""Routes: media."""

from fastapi import APIRouter

router = APIRouter()
