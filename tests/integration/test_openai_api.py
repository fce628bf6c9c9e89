"""The official `openai` SDK against Clarion's /v1 routes, and property-based abuse of them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import httpx
import numpy as np
import openai
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clarion.client.channel import V2Client
from clarion.server_thread import ServerThread

pytestmark = pytest.mark.slow

LLM = "smollm2-135m-instruct"
EMBEDDER = "all-minilm-l6-v2"


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key=server.pat, max_retries=0)


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert {LLM, EMBEDDER, "general-image-recognition"} <= set(ids)


def test_chat_completion(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model=LLM,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who was president of the United States in 1955?"},
        ],
        max_tokens=24,
        temperature=0,
    )
    choice = response.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert response.usage is not None
    assert response.usage.prompt_tokens > 10 and 1 <= response.usage.completion_tokens <= 24
    assert (
        response.usage.total_tokens
        == response.usage.prompt_tokens + response.usage.completion_tokens
    )


def test_chat_matches_the_clarifai_path(client: openai.OpenAI, server: ServerThread) -> None:
    question = "Name a large planet."
    chat = client.chat.completions.create(
        model=LLM, messages=[{"role": "user", "content": question}], max_tokens=12, temperature=0
    )
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=resources_pb2.UserAppIDSet(user_id="clarion", app_id="main"),
        model_id=LLM,
        inputs=[
            resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw=question)))
        ],
    )
    request.model.model_version.output_info.params.update({"max_tokens": 12, "do_sample": False})
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        response = V2Client(channel).PostModelOutputs(
            request, metadata=(("authorization", "Key " + server.pat),)
        )
    assert chat.choices[0].message.content == response.outputs[0].data.text.raw


def test_streaming_chat(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=LLM,
        messages=[{"role": "user", "content": "Tell me about the Moon."}],
        max_tokens=20,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert len([p for p in pieces if p]) > 3 and "".join(pieces).strip()
    assert finish in ("stop", "length")
    assert usage is not None and 1 <= usage.completion_tokens <= 20


def test_streaming_completion_chunks_are_text_completions(server: ServerThread) -> None:
    body = {
        "model": LLM,
        "prompt": "The Moon is",
        "max_tokens": 6,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": "Bearer " + server.pat}
    response = httpx.post(f"{server.rest_url}/v1/completions", json=body, headers=headers)
    assert response.status_code == 200
    events = [line[len("data: ") :] for line in response.text.splitlines() if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert len(chunks) > 2
    assert {chunk["object"] for chunk in chunks} == {"text_completion"}
    usage = chunks[-1]
    assert usage["choices"] == [] and 1 <= usage["usage"]["completion_tokens"] <= 6


def test_text_completion_uses_the_raw_prompt(client: openai.OpenAI) -> None:
    response = client.completions.create(
        model=LLM, prompt="The capital of France is", max_tokens=6, temperature=0, echo=True
    )
    assert response.choices[0].text.startswith("The capital of France is")
    assert response.usage is not None and response.usage.prompt_tokens == 5


def test_embeddings_equal_the_clarifai_path(client: openai.OpenAI, server: ServerThread) -> None:
    texts = ["The Green Revolution raised grain yields.", "Cats sleep a lot."]
    floats = client.embeddings.create(model=EMBEDDER, input=texts, encoding_format="float")
    packed = client.embeddings.create(model=EMBEDDER, input=texts)  # the SDK asks for base64
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=resources_pb2.UserAppIDSet(user_id="clarion", app_id="main"),
        model_id=EMBEDDER,
        inputs=[
            resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw=t)))
            for t in texts
        ],
    )
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        response = V2Client(channel).PostModelOutputs(
            request, metadata=(("authorization", "Key " + server.pat),)
        )
    for index, output in enumerate(response.outputs):
        expected = np.array(output.data.embeddings[0].vector)
        np.testing.assert_allclose(floats.data[index].embedding, expected, atol=1e-6)
        np.testing.assert_allclose(packed.data[index].embedding, expected, atol=1e-6)
    assert floats.usage.prompt_tokens > 10


def test_json_schema_output_parses(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 24},
            "population": {"type": "integer", "minimum": 0, "maximum": 100000000},
        },
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    response = client.chat.completions.create(
        model=LLM,
        messages=[{"role": "user", "content": "Describe a city as JSON."}],
        max_tokens=120,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
    )
    data = json.loads(response.choices[0].message.content or "")
    assert isinstance(data["city"], str) and isinstance(data["population"], int)


def test_logprobs(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model=LLM,
        messages=[{"role": "user", "content": "Say yes."}],
        max_tokens=4,
        logprobs=True,
        top_logprobs=3,
    )
    logprobs = response.choices[0].logprobs
    assert logprobs is not None
    content = logprobs.content
    assert content and all(t.logprob <= 0 for t in content)
    assert all(len(t.top_logprobs) == 3 for t in content)


def test_bad_key(server: ServerThread) -> None:
    bad = openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key="0" * 32, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.models.list()
    assert info.value.status_code == 401
    assert isinstance(info.value.body, dict)
    assert info.value.body["code"] == "conn_key_not_found"


def test_bad_parameters(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=LLM, messages=[{"role": "user", "content": "hi"}], top_p=1.5
        )
    assert isinstance(info.value.body, dict)
    assert info.value.body["param"] == "top_p"
    assert "top_p must be in (0, 1], got 1.5." in info.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="text-embedder"):
        client.chat.completions.create(model=EMBEDDER, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="embeds images"):
        client.embeddings.create(model="general-image-embedding", input="x")
    with pytest.raises(openai.BadRequestError, match="dimensions must be 384"):
        client.embeddings.create(model=EMBEDDER, input="x", dimensions=64)


def test_openapi_document(server: ServerThread) -> None:
    headers = {"Authorization": "Bearer " + server.pat}
    document = httpx.get(f"{server.rest_url}/openapi.json", headers=headers).json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"} <= set(
        document["paths"]
    )
    assert "ChatCompletionRequest" in document["components"]["schemas"]
    assert httpx.get(f"{server.rest_url}/openapi.json").status_code == 401


# property-based: malformed and extreme bodies never get a 500 and never hang ----------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
EXTREME = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(),
    st.sampled_from(["", "x" * 5000, "\x00", "NaN", "-1", "1e309", "null"]),
    st.none(),
    JSON_VALUES,
)
MESSAGES = st.one_of(
    JSON_VALUES,
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "system", "assistant", "tool", ""]),
                "content": EXTREME,
            }
        ),
        max_size=3,
    ),
)
CHAT_BODIES = st.fixed_dictionaries(
    {"model": st.sampled_from([LLM, EMBEDDER, "", "a/b/c:d", "../../etc"]), "messages": MESSAGES},
    optional={
        "max_tokens": st.one_of(EXTREME, st.integers(min_value=1, max_value=3)),
        "temperature": EXTREME,
        "top_p": EXTREME,
        "top_k": EXTREME,
        "n": EXTREME,
        "stop": EXTREME,
        "seed": EXTREME,
        "logprobs": EXTREME,
        "top_logprobs": EXTREME,
        "response_format": EXTREME,
        "reasoning_effort": EXTREME,
        "stream": st.booleans(),
    },
)
EMBEDDING_BODIES = st.fixed_dictionaries(
    {"model": st.sampled_from([EMBEDDER, LLM, "general-image-embedding", ""]), "input": EXTREME},
    optional={"encoding_format": EXTREME, "dimensions": EXTREME},
)


@pytest.fixture(scope="module")
def raw_client(server: ServerThread) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer " + server.pat}
    with httpx.Client(base_url=server.rest_url, headers=headers, timeout=60) as http:
        yield http


def _post(http: httpx.Client, path: str, body: object) -> httpx.Response:
    """POST ``body`` as JSON, NaN and Infinity included (as Python's json writes them)."""
    content = json.dumps(body)
    return http.post(path, content=content, headers={"Content-Type": "application/json"})


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["message"] and error["type"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=CHAT_BODIES)
def test_chat_bodies_never_500(raw_client: httpx.Client, body: dict[str, object]) -> None:
    if body.get("max_tokens") is None or not isinstance(body.get("max_tokens"), int):
        body = {**body, "max_tokens": 2}
    _check(_post(raw_client, "/v1/chat/completions", body))
    _check(_post(raw_client, "/v1/completions", {**body, "prompt": body.get("messages")}))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=EMBEDDING_BODIES)
def test_embedding_bodies_never_500(raw_client: httpx.Client, body: dict[str, object]) -> None:
    _check(_post(raw_client, "/v1/embeddings", body))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_garbage_bytes_never_500(raw_client: httpx.Client, raw: bytes) -> None:
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        _check(raw_client.post(path, content=raw, headers={"Content-Type": "application/json"}))
