"""Generated and mutated requests against one real `clarion serve` process.

Over 10,000 requests from a seeded generator (``FUZZ_SEED`` repeats a run): gRPC calls with
well-formed, scrambled (random field values through protobuf reflection) and byte-mutated
``PostModelOutputs``, ``GenerateModelOutputs`` and workspace messages under random metadata;
REST calls on the Clarifai and OpenAI routes with random and mutated JSON bodies, paths and
headers. Every answer must carry a status (a Clarifai ``status`` or an OpenAI ``error``), none
may hang, the process must survive, and afterwards it must still answer correctly: the same
embedding and the same greedy generation as before the storm, and a workspace round trip.

Generation stays cheap: templates ask for one or two tokens, the per-call timeout of the
server is short, and streams are cancelled after a few messages (exercising cancellation).
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import string
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import grpc
import httpx
import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf import struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from PIL import Image

from clarion.rpcs import RPCS, SERVICE_NAME
from tests.conftest import V2Response
from tests.served import Served, serve

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("FUZZ_SEED", "1201"))
GRPC_CASES = 5_200
REST_CASES = 5_200
WORKERS = 12
#: A request that has not answered after this long counts as a hang.
HANG_S = 60.0
PAT = "f" * 32
#: 98004: an unexpected exception inside the server. No generated request may cause one.
INTERNAL = 98004
MODELS = ["all-minilm-l6-v2", "general-image-recognition", "general-image-embedding"]
LLM = "smollm2-135m-instruct"
APPS = ["fz0", "fz1", "fz2"]
TINY = {"max_tokens": 1.0, "do_sample": False}


# random values ------------------------------------------------------------------------


def _text(rng: random.Random, limit: int = 48) -> str:
    alphabets = [
        string.ascii_letters + string.digits,
        string.printable,
        "ünïcødé ∑ 漢字 🙂 \u200b\u202e",
        "/{}[]%.:?#&=\\'\"",
    ]
    return "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(0, limit)))


def _number(rng: random.Random) -> float:
    return rng.choice(
        [0.0, -1.0, 1.0, 2.0, 0.5, 1e-300, 1e300, -1e300, 2.0**53, 4096.0, 1e9, rng.random()]
    )


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "float", "bool", "null"]
    if depth < 4:
        kinds += ["list", "dict"]
    kind = rng.choice(kinds)
    if kind == "str":
        return _text(rng)
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**64, 10**30, rng.randint(-999, 999)])
    if kind == "float":
        return _number(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng, 12): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _bytes(rng: random.Random, limit: int = 200) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, limit)))


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[at : at + rng.randint(1, 16)]
        elif op == 2:
            buf[at:at] = _bytes(rng, 16)
        elif op == 3 and buf:
            start = rng.randrange(len(buf))
            buf[at:at] = buf[start : start + rng.randint(1, 32)]
        else:
            del buf[at:]
    return bytes(buf)


# protobuf messages ----------------------------------------------------------------------


def _scramble(message: Message, rng: random.Random, depth: int = 0) -> None:
    """Random values in random fields, any type, recursively (bounded)."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Struct":
        assert isinstance(message, struct_pb2.Struct)
        message.update({_text(rng, 10): _json_value(rng) for _ in range(rng.randint(0, 3))})
        return
    for fd in message.DESCRIPTOR.fields:
        if rng.random() > (0.35 if depth else 0.6):
            continue
        is_map = fd.message_type is not None and fd.message_type.GetOptions().map_entry
        if is_map or (fd.message_type is not None and depth >= 4):
            continue
        count = rng.randint(0, 3) if fd.is_repeated else 1
        container = getattr(message, fd.name)
        for _ in range(count):
            if fd.message_type is not None:
                child = container.add() if fd.is_repeated else container
                _scramble(child, rng, depth + 1)
                continue
            value = _scalar(fd, rng)
            if fd.is_repeated:
                container.append(value)
            else:
                setattr(message, fd.name, value)


def _scalar(fd: FieldDescriptor, rng: random.Random) -> Any:
    kind = fd.cpp_type
    if kind == FieldDescriptor.CPPTYPE_STRING:
        if fd.type == FieldDescriptor.TYPE_BYTES:
            return _bytes(rng)
        return rng.choice([_text(rng), rng.choice(MODELS), rng.choice(APPS), "me", "clarion"])
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return rng.random() < 0.5
    if kind in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        return rng.choice([_number(rng), math.nan, math.inf, -math.inf])
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        return rng.choice([v.number for v in fd.enum_type.values])
    bounds = {
        FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
        FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
        FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
        FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
    }
    low, high = bounds[kind]
    return rng.choice([low, high, 0, 1, -1 if low else 2, rng.randint(low, high)])


def _user_app(rng: random.Random, public: bool) -> resources_pb2.UserAppIDSet:
    if public:
        return resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
    return resources_pb2.UserAppIDSet(user_id="me", app_id=rng.choice(APPS))


def _text_inputs(rng: random.Random, labelled: bool = False) -> list[resources_pb2.Input]:
    inputs = []
    for n in range(rng.randint(1, 3)):
        data = resources_pb2.Data(text=resources_pb2.Text(raw=_text(rng) or "x"))
        if labelled:
            data.concepts.add(id=rng.choice(["a", "b"]), value=rng.choice([0.0, 1.0]))
        inputs.append(resources_pb2.Input(id=f"in{rng.randrange(20)}-{n}", data=data))
    return inputs


def _predict(rng: random.Random, image: bytes) -> tuple[str, Message]:
    model_id = rng.choice([*MODELS, LLM])
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=_user_app(rng, True), model_id=model_id
    )
    if model_id == LLM:
        request.inputs.extend(_text_inputs(rng))
        request.model.model_version.output_info.params.update(TINY)
    elif model_id == MODELS[0]:
        request.inputs.extend(_text_inputs(rng))
    else:
        for _ in range(rng.randint(1, 2)):
            pixels = image if rng.random() < 0.5 else _mutate_bytes(image, rng)
            request.inputs.add().data.image.base64 = pixels
        if rng.random() < 0.5:
            request.model.model_version.output_info.output_config.max_concepts = rng.randint(0, 300)
    return "PostModelOutputs", request


def _generate(rng: random.Random, _image: bytes) -> tuple[str, Message]:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=_user_app(rng, True), model_id=LLM, inputs=_text_inputs(rng)
    )
    request.model.model_version.output_info.params.update({**TINY, "max_tokens": 2.0})
    return "GenerateModelOutputs", request


def _workspace(rng: random.Random, _image: bytes) -> tuple[str, Message]:
    app = _user_app(rng, rng.random() < 0.1)
    model = resources_pb2.Model(id=rng.choice(["m1", "m2"]))
    model.output_info.data.concepts.add(id=rng.choice(["a", "b"]))
    builders: list[Callable[[], Message]] = [
        lambda: service_pb2.PostAppsRequest(
            user_app_id=app, apps=[resources_pb2.App(id=rng.choice(APPS))]
        ),
        lambda: service_pb2.GetAppRequest(user_app_id=app),
        lambda: service_pb2.ListAppsRequest(user_app_id=app, per_page=rng.randint(0, 2000)),
        lambda: service_pb2.DeleteAppRequest(user_app_id=app),
        lambda: service_pb2.PostInputsRequest(
            user_app_id=app, inputs=_text_inputs(rng, labelled=True)
        ),
        lambda: service_pb2.ListInputsRequest(user_app_id=app, page=rng.randint(0, 3)),
        lambda: service_pb2.GetInputRequest(user_app_id=app, input_id=f"in{rng.randrange(20)}-0"),
        lambda: service_pb2.DeleteInputsRequest(user_app_id=app, ids=[f"in{rng.randrange(20)}-0"]),
        lambda: service_pb2.PostModelsRequest(user_app_id=app, models=[model]),
        lambda: service_pb2.PatchModelsRequest(
            user_app_id=app, models=[model], action=rng.choice(["merge", "overwrite", "remove", ""])
        ),
        lambda: service_pb2.DeleteModelRequest(user_app_id=app, model_id=model.id),
        lambda: service_pb2.PostModelVersionsRequest(user_app_id=app, model_id=model.id),
        lambda: service_pb2.DeleteModelVersionRequest(
            user_app_id=app, model_id=model.id, version_id=_text(rng, 32)
        ),
        lambda: service_pb2.ListModelsRequest(user_app_id=app, per_page=rng.randint(0, 2000)),
        lambda: service_pb2.GetModelRequest(user_app_id=app, model_id=rng.choice(MODELS)),
        lambda: service_pb2.ListModelVersionsRequest(user_app_id=app, model_id=model.id),
        lambda: service_pb2.ListModelConceptsRequest(
            user_app_id=_user_app(rng, True), model_id=MODELS[1], per_page=rng.randint(0, 50)
        ),
        lambda: RPCS["GetModelOutputInfo"].request_class(user_app_id=app, model_id=model.id),
        lambda: service_pb2.GetUserRequest(user_app_id=app),
    ]
    message = rng.choice(builders)()
    return message.DESCRIPTOR.name.removesuffix("Request"), message


def _metadata(rng: random.Random) -> list[tuple[str, str | bytes]]:
    auth = rng.choices(
        [f"Key {PAT}", f"Bearer {PAT}", None, "Key " + "0" * 32, "Key", _text(rng, 40)],
        weights=[80, 5, 4, 4, 3, 4],
    )[0]
    metadata: list[tuple[str, str | bytes]] = []
    if auth is not None:
        printable = "".join(c for c in auth if 32 <= ord(c) < 127)
        metadata.append(("authorization", printable))
    for _ in range(rng.choice([0, 0, 1, 3])):
        name = "".join(rng.choice(string.ascii_lowercase + "-_.") for _ in range(8)).strip("-")
        if rng.random() < 0.3:
            metadata.append((f"x{name}-bin", _bytes(rng, 40)))
        else:
            metadata.append(
                (f"x{name}", "".join(rng.choice(string.printable[:94]) for _ in range(20)))
            )
    return metadata


# the run --------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server_errors: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.sent[kind] += 1
            self.statuses[outcome] += 1

    def fail(self, kind: str, why: str) -> None:
        with self.lock:
            self.sent[kind] += 1
            self.failures.append(f"{kind}: {why}"[:400])


_local = threading.local()
#: Every worker thread's channel and HTTP client, closed after the run.
_opened: list[grpc.Channel | httpx.Client] = []


def _opened_once(name: str, make: Callable[[], Any]) -> Any:
    made = getattr(_local, name, None)
    if made is None:
        made = make()
        setattr(_local, name, made)
        _opened.append(made)
    return made


def _grpc_case(index: int, served: Served, image: bytes, tally: Tally) -> None:
    rng = random.Random(SEED * 1_000_003 + index)
    maker = rng.choices([_predict, _generate, _workspace], weights=[45, 5, 50])[0]
    name, message = maker(rng, image)
    mode = rng.choices(["valid", "scrambled", "bytes", "random"], weights=[30, 30, 35, 5])[0]
    if mode == "scrambled":
        _scramble(message, rng)
    rpc = RPCS[name]
    payload = message.SerializeToString()
    if mode == "bytes":
        payload = _mutate_bytes(payload, rng)
    elif mode == "random":
        payload = _bytes(rng, 300)
    channel = _opened_once("channel", lambda: grpc.insecure_channel(served.grpc_target))
    method = f"/{SERVICE_NAME}/{rpc.name}"
    kind = f"grpc {rpc.name} {mode}"
    try:
        if rpc.server_streaming:
            stream = channel.unary_stream(method)(payload, metadata=_metadata(rng), timeout=HANG_S)
            for count, raw in enumerate(stream):
                _check_status(rpc.response_class, raw)
                if count >= 2:
                    stream.cancel()  # a client that leaves mid-stream
                    break
            tally.record(kind, "stream")
            return
        raw = channel.unary_unary(method)(payload, metadata=_metadata(rng), timeout=HANG_S)
        tally.record(kind, str(_check_status(rpc.response_class, raw)))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.CANCELLED and rpc.server_streaming:
            tally.record(kind, "stream")
        else:
            tally.fail(kind, f"gRPC {exc.code()} {exc.details()} for {payload[:60]!r}")
    except AssertionError as exc:
        tally.fail(kind, str(exc))


def _check_status(response_class: type[Message], raw: bytes) -> int:
    try:
        response = cast(V2Response, response_class.FromString(raw))
    except DecodeError as exc:
        raise AssertionError(f"undecodable response: {exc}") from exc
    code = int(response.status.code)
    assert code, f"a response without a status: {response}"
    assert code != INTERNAL, f"an internal error: {response.status}"
    return code


REST_ROUTES: list[tuple[str, str, Callable[[random.Random], Any]]] = [
    ("POST", "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs",
     lambda rng: {"inputs": [{"data": {"text": {"raw": _text(rng) or "x"}}}]}),
    ("POST", "/v2/models/general-image-recognition/outputs",
     lambda rng: {"inputs": [{"data": {"image": {"base64": "iVBORw0KGgo="}}}]}),
    ("POST", f"/v2/users/clarion/apps/main/models/{LLM}/outputs",
     lambda rng: {"inputs": [{"data": {"text": {"raw": _text(rng) or "x"}}}],
                  "model": {"model_version": {"output_info": {"params": TINY}}}}),
    ("POST", f"/v2/users/clarion/apps/main/models/{LLM}/outputs/generate",
     lambda rng: {"inputs": [{"data": {"text": {"raw": "hi"}}}],
                  "model": {"model_version": {"output_info": {"params": TINY}}}}),
    ("GET", "/v2/users/clarion/apps/main/models", lambda rng: None),
    ("GET", "/v2/models/all-minilm-l6-v2/versions", lambda rng: None),
    ("POST", "/v2/users/me/apps", lambda rng: {"apps": [{"id": rng.choice(APPS)}]}),
    ("GET", "/v2/users/me/apps", lambda rng: None),
    ("POST", "/v2/users/me/apps/fz0/inputs",
     lambda rng: {"inputs": [{"data": {"text": {"raw": _text(rng) or "x"},
                                        "concepts": [{"id": "a", "value": 1}]}}]}),
    ("GET", "/v2/users/me/apps/fz0/inputs", lambda rng: None),
    ("POST", "/v2/users/me/apps/fz0/models",
     lambda rng: {"models": [{"id": "m1", "output_info": {"data": {"concepts": [{"id": "a"}]}}}]}),
    ("DELETE", "/v2/users/me/apps/fz1", lambda rng: None),
    ("GET", "/v1/models", lambda rng: None),
    ("POST", "/v1/embeddings",
     lambda rng: {"model": "all-minilm-l6-v2", "input": [_text(rng) or "x"]}),
    ("POST", "/v1/chat/completions",
     lambda rng: {"model": LLM, "max_tokens": 1,
                  "messages": [{"role": "user", "content": _text(rng) or "x"}]}),
    ("POST", "/v1/completions", lambda rng: {"model": LLM, "max_tokens": 1, "prompt": "hi"}),
]  # fmt: skip


def _mutate_json(node: Any, rng: random.Random) -> Any:
    if rng.random() < 0.25:
        return _json_value(rng)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        choice = rng.randrange(3)
        if choice == 0:
            del node[key]
        elif choice == 1:
            node[_text(rng, 12)] = _json_value(rng)
        else:
            node[key] = _mutate_json(node[key], rng)
    elif isinstance(node, list) and node:
        at = rng.randrange(len(node))
        node[at] = _mutate_json(node[at], rng)
    return node


CONTENT_TYPES = [
    "application/json",
    "application/json",
    "text/plain",
    "",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
]


def _headers(rng: random.Random) -> dict[str, str]:
    auth = rng.choices(
        [f"Key {PAT}", f"Bearer {PAT}", None, "Key " + "0" * 32, "Basic abc", _text(rng, 30)],
        weights=[80, 8, 3, 3, 2, 4],
    )[0]
    headers = {"content-type": rng.choice([*CONTENT_TYPES, _text(rng, 20)])}
    if auth is not None:
        headers["authorization"] = auth
    for _ in range(rng.choice([0, 0, 1, 3])):
        headers["x-" + "".join(rng.choice(string.ascii_lowercase) for _ in range(6))] = _text(
            rng, 30
        )
    printable = {k: "".join(c for c in v if 32 <= ord(c) < 127).strip() for k, v in headers.items()}
    return {k: v for k, v in printable.items() if v}


def _rest_case(index: int, served: Served, _image: bytes, tally: Tally) -> None:
    rng = random.Random(SEED * 7_000_001 + index)
    verb, path, body_of = rng.choice(REST_ROUTES)
    body = body_of(rng)
    mode = rng.choices(["valid", "tree", "bytes", "random", "path"], weights=[25, 35, 25, 5, 10])[0]
    content: bytes | None = None if body is None else json.dumps(body).encode()
    if mode == "tree":
        content = json.dumps(_mutate_json(body if body is not None else {}, rng)).encode()
    elif mode == "bytes" and content:
        content = _mutate_bytes(content, rng)
    elif mode == "random":
        content = _bytes(rng, 300)
    elif mode == "path":
        parts = path.split("/")
        junk = rng.choice(["%00", "..", "%ff", quote(_text(rng, 8), safe="")])
        parts.insert(rng.randrange(1, len(parts) + 1), junk)
        path = "/".join(parts)
        verb = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
    client = _opened_once("http", lambda: _http_client(served.rest_url, HANG_S))
    kind = f"rest {verb} {path.split('/')[1] if '/' in path else path} {mode}"
    try:
        with client.stream(verb, path, content=content, headers=_headers(rng)) as response:
            if "generate" in path or b'"stream": true' in (content or b""):
                lines = []
                for line in response.iter_lines():
                    if line.strip():
                        lines.append(line)
                    if len(lines) >= 3:
                        break  # a client that leaves mid-stream
                text = lines[0] if lines else ""
            else:
                text = response.read().decode("utf-8", "replace")
            code = response.status_code
        outcome = _check_rest(path, code, text)
        tally.record(kind, outcome)
        if code >= 500:  # the server's own fault, or a client's reported as one?
            with tally.lock:
                tally.server_errors.setdefault(f"{outcome} on {verb} {path}", text[:160])
            # Only two are the server's by design: an RPC it does not implement, and a
            # mutated generation that ran past the per-call limit.
            by_design = code == 501 or "CLARION_RUNNER_TIMEOUT_S" in text
            assert by_design, f"HTTP {code} for a client's request: {text[:200]}"
    except httpx.TransportError as exc:
        tally.fail(kind, f"{type(exc).__name__}: {exc} for {verb} {path}")
    except AssertionError as exc:
        tally.fail(kind, f"{exc} for {verb} {path} {content[:80] if content else b''!r}")


def _check_rest(path: str, code: int, text: str) -> str:
    if text.startswith("data: "):
        text = text.removeprefix("data: ")
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"HTTP {code} without a JSON body: {text[:100]!r}") from exc
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        assert answer["error"].get("message"), f"HTTP {code}: an error without a message"
        assert code >= 400, f"HTTP {code} with an error body"
        assert answer["error"].get("code") != "internal_server_issue", text[:200]
        return f"HTTP {code}"
    if isinstance(answer, dict) and isinstance(answer.get("status"), dict):
        assert answer["status"].get("code"), f"HTTP {code}: a status without a code"
        status = answer["status"]["code"]
        assert status != INTERNAL, f"an internal error: {text[:200]}"
        return f"HTTP {code} / {status}"
    if isinstance(answer, dict) and "result" in answer:  # a Clarifai generate stream line
        assert answer["result"]["status"]["code"]
        return f"HTTP {code} stream"
    # an OpenAI success: a list, an embedding list, a completion or a stream chunk
    assert code == 200 and "v1/" in path, f"HTTP {code} without a status: {text[:100]}"
    assert answer.get("object") in (
        "list",
        "chat.completion",
        "text_completion",
        "chat.completion.chunk",
    ), text[:100]
    return "HTTP 200 openai"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {
        "CLARION_PAT": PAT,
        "CLARION_RUNNER_TIMEOUT_S": "10",
        "CLARION_LLM_QUEUE_SIZE": "4",
        "CLARION_FETCH_TIMEOUT_S": "2",
    }
    with serve(tmp_path_factory.mktemp("fuzz"), "--preload", "all", env=env) as served:
        yield served


def _http_client(base_url: str, timeout: float, **kwargs: Any) -> httpx.Client:
    """Idle connections are dropped before the server's keep-alive (5 s) could close them
    under a request in flight."""
    limits = httpx.Limits(keepalive_expiry=2.0)
    return httpx.Client(base_url=base_url, timeout=timeout, limits=limits, **kwargs)


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False  # still starting


def _reference(served: Served) -> tuple[list[float], str]:
    headers = {"authorization": f"Bearer {PAT}"}
    with _http_client(served.rest_url, 120, headers=headers) as client:
        deadline = time.monotonic() + 180
        while not _ready(client):
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.5)
        embedding = client.post(
            "/v1/embeddings", json={"model": MODELS[0], "input": "a steady sentence"}
        )
        body = {"model": LLM, "prompt": "1, 2, 3,", "max_tokens": 6, "temperature": 0}
        for _ in range(5):  # a busy machine may take the short per-call limit on a first call
            completion = client.post("/v1/completions", json=body)
            if completion.status_code != 500:
                break
            assert "CLARION_RUNNER_TIMEOUT_S" in completion.text, completion.text
        assert embedding.status_code == 200 and completion.status_code == 200, completion.text
        return embedding.json()["data"][0]["embedding"], completion.json()["choices"][0]["text"]


def test_ten_thousand_generated_requests_all_answer_with_a_status(target: Served) -> None:
    try:
        before_vector, before_text = _reference(target)
    except Exception:
        print(target.output[-4000:], target.process.poll())
        raise
    image = _png()
    tally = Tally()
    cases: list[tuple[Callable[[int, Served, bytes, Tally], None], int]] = [
        *((_grpc_case, i) for i in range(GRPC_CASES)),
        *((_rest_case, i) for i in range(REST_CASES)),
    ]
    random.Random(SEED).shuffle(cases)
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(case, i, target, image, tally) for case, i in cases]:
            future.result()
    elapsed = time.monotonic() - started
    while _opened:
        _opened.pop().close()
    total = sum(tally.sent.values())
    grpc_sent = sum(n for k, n in tally.sent.items() if k.startswith("grpc"))
    print(
        f"\nfuzz (seed {SEED}): sent {total} requests ({grpc_sent} gRPC, {total - grpc_sent} "
        f"REST) in {elapsed:.0f} s; {len(tally.failures)} without a proper answer"
    )
    for outcome, count in sorted(tally.statuses.items(), key=lambda kv: -kv[1])[:40]:
        print(f"  {count:6d}  {outcome}")
    for where, example in sorted(tally.server_errors.items())[:20]:
        print(f"  5xx {where}\n      {example}")
    assert total >= 10_000
    assert not tally.failures, "\n".join(tally.failures[:30])
    assert target.process.poll() is None, "the server died:\n" + target.output[-3000:]
    after_vector, after_text = _reference(target)
    assert np.allclose(before_vector, after_vector, atol=1e-5)
    assert after_text == before_text
    _workspace_still_works(target)
    assert "Traceback" not in target.output, target.output[-5000:]


def _workspace_still_works(served: Served) -> None:
    with grpc.insecure_channel(served.grpc_target) as channel:

        def call(name: str, request: Message) -> Any:
            return channel.unary_unary(
                f"/{SERVICE_NAME}/{name}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=RPCS[name].response_class.FromString,
            )(request, metadata=[("authorization", f"Key {PAT}")], timeout=30)

        app = resources_pb2.UserAppIDSet(user_id="me", app_id="after-fuzz")
        created = call(
            "PostApps", service_pb2.PostAppsRequest(apps=[resources_pb2.App(id="after-fuzz")])
        )
        assert created.status.code == 10000, created.status
        text = resources_pb2.Input(
            id="kept", data=resources_pb2.Data(text=resources_pb2.Text(raw="kept"))
        )
        posted = call("PostInputs", service_pb2.PostInputsRequest(user_app_id=app, inputs=[text]))
        assert posted.status.code == 10000, posted.status
        listed = call("ListInputs", service_pb2.ListInputsRequest(user_app_id=app))
        assert [i.id for i in listed.inputs] == ["kept"]
