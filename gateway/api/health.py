"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from gateway.api.deps import get_services
from gateway.errors import Overloaded
from gateway.json import ORJSONResponse
from gateway.services import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_class=ORJSONResponse)
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz", response_class=ORJSONResponse)
async def readyz(services: Annotated[Services, Depends(get_services)]) -> dict[str, Any]:
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Overloaded("The database is not reachable.") from exc
    return {"status": "ready", "worker": services.worker_running()}


@router.get("/metrics")
async def metrics(services: Annotated[Services, Depends(get_services)]) -> Response:
    await services.metrics.prepare()
    async with services.engine.connect() as conn:
        await services.metrics.refresh(conn)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
