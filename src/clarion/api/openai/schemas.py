"""Request bodies of the OpenAI-compatible routes, validated by pydantic.

Fields the OpenAI clients send with neutral values (``user``, ``presence_penalty`` 0, ...)
are accepted; fields Clarion cannot honour are refused rather than silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.config import MAX_EMBED_INPUTS

MAX_CHOICES = 8


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Body):
    type: Literal["text"]
    text: str


class ChatMessageBody(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class JsonSchemaFormat(_Body):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class _Sampling(_Body):
    """Fields shared by chat and text completions."""

    model: Annotated[str, Field(min_length=1, max_length=512)]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    n: Annotated[int, Field(ge=1, le=MAX_CHOICES)] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    presence_penalty: Annotated[float, Field(ge=0, le=0)] | None = None
    frequency_penalty: Annotated[float, Field(ge=0, le=0)] | None = None


class ChatCompletionRequest(_Sampling):
    messages: Annotated[list[ChatMessageBody], Field(min_length=1, max_length=512)]
    max_completion_tokens: int | None = None
    reasoning_effort: str | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool = False
    top_logprobs: int | None = None


class CompletionRequest(_Sampling):
    prompt: Annotated[str | Annotated[list[str], Field(min_length=1, max_length=128)], Field()]
    echo: bool = False
    logprobs: int | None = None


class EmbeddingRequest(_Body):
    model: Annotated[str, Field(min_length=1, max_length=512)]
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("input must not be empty")
        if isinstance(value, list) and len(value) > MAX_EMBED_INPUTS:
            raise ValueError(f"input holds at most {MAX_EMBED_INPUTS} items")
        return value
