"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from api import error_handlers, health, openapi
from api.body_limit import BodyLimitMiddleware
from api.ratelimit import RateLimiter
from api.request_metrics import RequestMetrics
from api.routers import apps, credentials, operations, push_notifications, registrations, users
from api.temporal import TemporalConnection
from herald.crypto import load_secret_key, secret_box
from herald.db import get_engine
from herald.settings import Settings, get_settings

DESCRIPTION = """\
Herald sends push notifications through APNs and FCM. Authenticate every call
with HTTP Basic `accountId:authToken` (`herald accounts create --name NAME`).
Errors are `{"errors": [{"code", "message", "context"}]}`.
"""


def resource_router() -> APIRouter:
    router = APIRouter()
    for module in (apps, credentials, registrations, users, operations, push_notifications):
        router.include_router(module.router, prefix="/PushNotifications")
    return router


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Herald Push Notifications API",
        version="1.0",
        description=DESCRIPTION,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings.database_url)
    app.state.box = secret_box(load_secret_key(settings))
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second)
    app.state.temporal = TemporalConnection(settings)
    error_handlers.install(app)
    app.add_middleware(RequestMetrics)
    openapi.install(app)
    app.include_router(health.router)
    resources = resource_router()
    app.include_router(resources, prefix="/v1")
    app.include_router(resources, prefix="/preview")
    return app
