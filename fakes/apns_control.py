"""A minimal plain HTTP/1.1 JSON server for the fake APNs' control API.

One request per connection (``Connection: close``), JSON in and out, so
curl, httpx or a shell script can drive the fake without TLS or HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Final

__all__ = ["ControlHandler", "start_control_server"]

ControlHandler = Callable[[str, str, bytes], tuple[int, object]]
"""``(method, path, body) -> (status, JSON-able answer)``."""

_MAX_BODY: Final = 1 << 20
_MAX_HEAD: Final = 64 * 1024


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _MAX_HEAD:
        raise ValueError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length < 0 or length > _MAX_BODY:
        raise ValueError("bad content-length")
    body = await reader.readexactly(length) if length else b""
    return method.upper(), path, body


def _response(status: int, answer: object) -> bytes:
    body = json.dumps(answer).encode("utf-8")
    phrase = HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def start_control_server(
    handler: ControlHandler, host: str = "127.0.0.1", port: int = 0
) -> asyncio.Server:
    """Serve ``handler`` on ``host:port`` (0: any free port) in the running loop."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                method, path, body = await _read_request(reader)
            except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                writer.write(_response(400, {"error": "malformed request"}))
            else:
                try:
                    status, answer = handler(method, path, body)
                except ValueError as exc:
                    status, answer = 400, {"error": str(exc)}
                writer.write(_response(status, answer))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(serve, host, port)
