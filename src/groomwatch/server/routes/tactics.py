"""Routes: the tactic catalogue (what each finding's ``tactic`` means)."""

from __future__ import annotations

from fastapi import APIRouter

from groomwatch.server.deps import TenantDep
from groomwatch.server.schemas.tactics import TacticPublic, TacticsPublic

router = APIRouter(prefix="/v1/tactics", tags=["tactics"])


@router.get("", response_model=TacticsPublic, summary="The grooming tactics groomwatch explains")
def list_tactics(tenant: TenantDep) -> TacticsPublic:
    from groomwatch.detect.tactics import default_registry

    data = [TacticPublic(**t.describe()) for t in default_registry()]
    return TacticsPublic(data=data, count=len(data))
