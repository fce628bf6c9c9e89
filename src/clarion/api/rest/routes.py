"""REST routes built from the ``google.api.http`` annotations in clarifai-grpc's descriptors.

Each binding such as ``POST /v2/users/{user_app_id.user_id}/apps/{user_app_id.app_id}/models/
{model_id}/outputs`` (body ``*``) becomes a :class:`Route`. Requests are matched against every
route of their HTTP method; the route with the most literal segments wins, so
``/v2/models/types/{model_type_id}`` beats ``/v2/models/{model_id}/versions``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from google.api import annotations_pb2
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from clarion.errors import InvalidRequest
from clarion.rpcs import RPCS, Rpc

_VERBS = ("get", "post", "put", "patch", "delete")
_VARIABLE = re.compile(r"\{([a-zA-Z0-9_.]+)(?:=[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC."""

    verb: str
    template: str
    rpc: Rpc
    body: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]
    literal_segments: int

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {
            name: unquote(value) for name, value in zip(self.variables, found.groups(), strict=True)
        }


def _compile(verb: str, template: str, rpc: Rpc, body: str) -> Route:
    variables = tuple(m.group(1) for m in _VARIABLE.finditer(template))
    regex = "".join(
        "([^/]+)" if _VARIABLE.fullmatch(part) else re.escape(part)
        for part in re.split(r"(\{[^}]*\})", template)
        if part
    )
    literals = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
    return Route(verb.upper(), template, rpc, body, re.compile(regex), variables, literals)


def build_routes() -> dict[str, list[Route]]:
    """Every binding of every RPC, grouped by HTTP verb, most specific first."""
    by_verb: dict[str, list[Route]] = {}
    for rpc in RPCS.values():
        rule = rpc.descriptor.GetOptions().Extensions[annotations_pb2.http]
        for binding in (rule, *rule.additional_bindings):
            verb = binding.WhichOneof("pattern")
            if verb not in _VERBS:
                continue
            route = _compile(verb, getattr(binding, verb), rpc, binding.body)
            by_verb.setdefault(route.verb, []).append(route)
    for routes in by_verb.values():
        routes.sort(key=lambda r: (-r.literal_segments, -len(r.variables)))
    return by_verb


# building the request message ---------------------------------------------------------


def _field(descriptor: Descriptor, dotted: str) -> FieldDescriptor:
    field = None
    for part in dotted.split("."):
        if descriptor is None:
            raise InvalidRequest(f"Unknown request field {dotted!r}.")
        field = descriptor.fields_by_name.get(part)
        if field is None:
            raise InvalidRequest(f"Unknown request field {dotted!r}.")
        descriptor = field.message_type
    assert field is not None
    return field


def _scalar(field: FieldDescriptor, raw: str, name: str) -> Any:
    """A query-string value converted to what json_format expects for ``field``."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise InvalidRequest(f"{name} must be true or false, got {raw!r}.")
        return raw.lower() in ("true", "1")
    if field.cpp_type in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        try:
            number = float(raw)
        except ValueError as exc:
            raise InvalidRequest(f"{name} must be a number, got {raw!r}.") from exc
        if not math.isfinite(number):
            raise InvalidRequest(f"{name} must be a finite number, got {raw!r}.")
        return number
    return raw


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = tree.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidRequest(f"Request field {part!r} is not a message.")
        tree = child
    tree[leaf] = value


def build_request(
    route: Route,
    path_values: Mapping[str, str],
    query: list[tuple[str, str]],
    body: Any,
) -> Message:
    """The RPC's request message from the JSON body, query parameters and path variables.

    Path variables win over the same fields in the body or query. Unknown fields and values
    of the wrong type raise :class:`InvalidRequest` naming the field.
    """
    descriptor = route.rpc.request_class.DESCRIPTOR
    tree: dict[str, Any] = {}
    if route.body == "*":
        if body is not None and not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        tree = dict(body or {})
    repeated: dict[str, list[Any]] = {}
    for name, raw in query:
        field = _field(descriptor, name)
        value = _scalar(field, raw, name)
        if field.is_repeated:
            repeated.setdefault(name, []).extend(
                _scalar(field, v, name) for v in str(raw).split(",") if v
            )
        else:
            _set_path(tree, name, value)
    for name, values in repeated.items():
        _set_path(tree, name, values)
    for name, value in path_values.items():
        _field(descriptor, name)
        _set_path(tree, name, value)
    message = route.rpc.request_class()
    try:
        json_format.ParseDict(tree, message)
    except json_format.ParseError as exc:
        raise InvalidRequest(f"The request does not match {descriptor.name}: {exc}") from exc
    return message
