"""Routes: analyst."""

from fastapi import APIRouter

router = APIRouter()
