"""Routes: reviews."""

from fastapi import APIRouter

router = APIRouter()
