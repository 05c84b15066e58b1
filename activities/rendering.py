"""Per-recipient rendering of an operation's templates into a PushMessage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from activities.providers.base import PushMessage
from herald.templating import render


@dataclass(frozen=True)
class Rendered:
    content: dict[str, Any]
    tags: dict[str, str]


def render_for(
    content: dict[str, Any], tags: dict[str, str], variables: dict[str, Any]
) -> Rendered:
    """Raises herald.templating.TemplateError when a variable is missing."""
    out = dict(content)
    for key in ("title", "body", "imageUrl"):
        if isinstance(content.get(key), str):
            out[key] = render(content[key], variables)
    if content.get("data"):
        out["data"] = {k: render(v, variables) for k, v in content["data"].items()}
    return Rendered(out, {k: render(v, variables) for k, v in tags.items()})


def push_message(
    token: str, rendered: Rendered, priority: str, sound: str | None
) -> PushMessage:
    c = rendered.content
    return PushMessage(
        token=token,
        body=c["body"],
        title=c.get("title"),
        image_url=c.get("imageUrl"),
        data=dict(c.get("data") or {}),
        badge=c.get("badge"),
        sound=sound,
        priority="LOW" if priority == "LOW" else "HIGH",
        collapse_key=c.get("collapseKey"),
        ttl_seconds=c.get("ttlSeconds"),
    )
