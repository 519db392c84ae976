"""Small helpers the views share: the acting officer, app extensions, the clock."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from central.services.audit import Actor


def actor() -> Actor:
    user = g.get("user")
    return Actor(
        username=user.username if user else None,
        role=user.role if user else None,
        ip=request.remote_addr,
    )


def extension(name: str) -> Any:
    return current_app.extensions[name]


def now_ms() -> int:
    from central.app import EXT_CLOCK

    return int(extension(EXT_CLOCK)() * 1000)
