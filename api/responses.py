"""202 Accepted answers with a Location header."""

from __future__ import annotations

from fastapi import Request, Response

from api.schemas.common import ResourceAccepted


def location(request: Request, path: str) -> str:
    """An absolute URL under the base path (``/v1`` or ``/preview``) the caller used."""
    prefix = request.url.path.split("/PushNotifications", 1)[0] + "/PushNotifications"
    return str(request.base_url).rstrip("/") + prefix + "/" + path


def accepted(request: Request, response: Response, ident: str, path: str) -> ResourceAccepted:
    url = location(request, path)
    response.headers["Location"] = url
    return ResourceAccepted(resourceId=ident, resourceLocation=url)
