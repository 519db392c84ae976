"""The OpenAPI document of ``/api/v1``, generated from the app's URL map.

Paths, methods and roles come from the routes themselves (``declared_roles``), so a new route
can never be missing from the document. What the URL map cannot know (a summary, the query and
body models, notable answers) comes from :data:`SPECS`; a route without an entry is still listed,
marked ``x-undocumented``, and a test fails on any such route of central's own API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel

from central.roles import PUBLIC, declared_roles

API_PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class RouteSpec:
    summary: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    responses: dict[str, str] = field(default_factory=dict)
    tag: str = "api"


def _specs() -> dict[str, RouteSpec]:
    from central.services.crossings import CrossingQuery
    from central.views import api
    from central.views.reports import RangeQuery

    return {
        "api.me": RouteSpec("The logged-in officer: username, role and the CSRF token", tag="session"),
        "api.list_gates": RouteSpec("Every gate: state, doors, time in state, traveller", tag="gates"),
        "api.get_gate": RouteSpec("One gate", responses={"404": "No such gate"}, tag="gates"),
        "api.gate_faces": RouteSpec(
            "Captured and enrolled face of a transaction (not stored yet: always 404)",
            responses={"404": "No images for this transaction"},
            tag="gates",
        ),
        "api.search_crossings": RouteSpec(
            "Search crossings by document, name, gate and UTC date range",
            query=CrossingQuery,
            tag="crossings",
        ),
        "api.list_alerts": RouteSpec(
            "Alerts, unacknowledged and most severe first",
            query=api.AlertQuery,
            tag="alerts",
        ),
        "api.acknowledge_alert": RouteSpec(
            "Acknowledge an alert (audited)",
            body=api.AckRequest,
            responses={"404": "No such alert"},
            tag="alerts",
        ),
        "api.issue_command": RouteSpec(
            "Send a signed command to a gate; the reason is mandatory and audited",
            body=api.CommandRequest,
            responses={
                "202": "Recorded and sent",
                "503": "Recorded, but no broker took it",
            },
            tag="commands",
        ),
        "api.list_commands": RouteSpec("Commands sent and the gates' answers", tag="commands"),
        "api.metrics": RouteSpec("Ingest counters", tag="operations"),
        "api.stats": RouteSpec("Totals: gates, crossings, alerts, open sequence gaps", tag="reports"),
        "api.daily_report": RouteSpec(
            "Daily recap (WIB day): crossings by direction and gate, refusals by reason",
            query=api.DailyQuery,
            tag="reports",
        ),
        "api.gate_stats": RouteSpec(
            "Per-gate statistics: throughput per hour, rejection rates by reason, step timings vs the SOP",
            query=RangeQuery,
            tag="reports",
        ),
        "api.audit_log": RouteSpec("The latest audit entries", query=api.AuditQuery, tag="operations"),
        "api.openapi": RouteSpec("This document", tag="session"),
    }


def openapi_path(rule: str) -> tuple[str, list[str]]:
    """``/gates/<gate_id>`` -> (``/gates/{gate_id}``, [``gate_id``])."""
    names: list[str] = []

    def swap(match: re.Match[str]) -> str:
        names.append(match.group(2))
        return "{" + match.group(2) + "}"

    return _CONVERTER.sub(swap, rule), names


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(
    app: Flask,
    endpoint: str,
    method: str,
    path_params: list[str],
    specs: dict[str, RouteSpec],
) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    roles = declared_roles(view)
    spec = specs.get(endpoint)
    doc = (view.__doc__ or "").strip().splitlines()
    operation: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_") + ("" if method == "get" else f"_{method}"),
        "summary": spec.summary if spec else (doc[0] if doc else endpoint),
        "tags": [spec.tag if spec else endpoint.split(".")[0]],
        "x-roles": sorted(roles) if roles and roles != PUBLIC else ([] if roles is None else ["public"]),
        "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path_params],
        "responses": {
            "200": {"description": "OK"},
            "401": {"description": "Not logged in"},
            "403": {"description": "Role not allowed, or CSRF token missing"},
        },
    }
    if spec is None:
        operation["x-undocumented"] = True
    else:
        if spec.query is not None:
            operation["parameters"] += _query_parameters(spec.query)
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": spec.body.model_json_schema()}},
            }
        for status, text in spec.responses.items():
            operation["responses"][status] = {"description": text}
        if spec.query is not None or spec.body is not None:
            operation["responses"].setdefault("400", {"description": "Invalid request"})
    if method not in ("get", "head"):
        operation["security"] = [{"session": [], "csrf": []}]
    return operation


def build_openapi(app: Flask) -> dict[str, Any]:
    specs = _specs()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        path, params = openapi_path(rule.rule[len(API_PREFIX) :])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(app, rule.endpoint, method.lower(), params, specs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Autogate central API",
            "version": "1",
            "description": "Every operation names the roles that may call it in x-roles; others get 403.",
        },
        "servers": [{"url": API_PREFIX}],
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "autogate_session",
                },
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            }
        },
        "security": [{"session": []}],
        "paths": paths,
    }
