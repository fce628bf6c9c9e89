"""The OpenAPI 3.1 document of the ``/v1`` routes, served at ``GET /openapi.json``."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from clarion.api.openai.schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def _responses(description: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "200": {"description": description, "content": {"application/json": {"schema": {}}}},
        **{
            str(code): {"description": text, **error}
            for code, text in (
                (400, "invalid request"),
                (401, "missing or invalid key"),
                (404, "unknown model"),
                (429, "model busy, retry"),
                (500, "server error"),
            )
        },
    }


def _post(schema: str, summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            },
            "responses": _responses(summary),
        }
    }


@cache
def openapi_document(version: str) -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (ChatCompletionRequest, "validation"),
            (CompletionRequest, "validation"),
            (EmbeddingRequest, "validation"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    components = {**schemas.get("$defs", {}), "Error": _ERROR}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Clarion OpenAI-compatible API", "version": version},
        "paths": {
            "/v1/models": {
                "get": {
                    "summary": "List the models this key can use",
                    "responses": _responses("models"),
                }
            },
            "/v1/chat/completions": _post("ChatCompletionRequest", "Chat completion"),
            "/v1/completions": _post("CompletionRequest", "Text completion"),
            "/v1/embeddings": _post("EmbeddingRequest", "Text embeddings"),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
