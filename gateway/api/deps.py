"""Dependencies shared by routers."""

from __future__ import annotations

from fastapi import Request

from gateway.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
