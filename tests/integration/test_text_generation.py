"""smollm2-135m-instruct on its real weights: every parameter, beams, streaming, limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from clarifai.client.input import Inputs
from clarifai.client.model import Model as ClarifaiModel
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2
from google.protobuf import json_format

from clarion.client import ClarionApiError
from clarion.client import Model as ClarionModel
from clarion.client.channel import V2Client
from clarion.server_thread import ServerThread
from tests.conftest import Metadata, make_settings

pytestmark = pytest.mark.slow

MODEL_ID = "smollm2-135m-instruct"
USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
SEED_PROMPT = "What's the future of AI?"


def _generate(
    client: V2Client, metadata: Metadata, prompts: list[str], **params: Any
) -> service_pb2.MultiOutputResponse:
    model = resources_pb2.Model()
    model.model_version.output_info.params.update(params)
    inputs = [
        resources_pb2.Input(id=f"p{i}", data=resources_pb2.Data(text=resources_pb2.Text(raw=p)))
        for i, p in enumerate(prompts)
    ]
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP, model_id=MODEL_ID, inputs=inputs, model=model
    )
    response: service_pb2.MultiOutputResponse = client.PostModelOutputs(request, metadata=metadata)
    return response


def _one(client: V2Client, metadata: Metadata, prompt: str, **params: Any) -> resources_pb2.Output:
    response = _generate(client, metadata, [prompt], **params)
    assert response.status.code == status_code_pb2.SUCCESS, response.status
    return response.outputs[0]


def _meta(output: resources_pb2.Output) -> dict[str, Any]:
    meta: dict[str, Any] = json_format.MessageToDict(output.data.metadata)
    return meta


def test_seed_batch_of_16_through_the_official_sdk(server: ServerThread) -> None:
    model = ClarifaiModel(
        url=f"https://clarifai.com/clarion/main/models/{MODEL_ID}",
        pat=server.pat,
        base_url=server.grpc_url,
    )
    protos = [
        Inputs.get_input_from_bytes(input_id=f"demo_{i}", text_bytes=SEED_PROMPT.encode())
        for i in range(16)
    ]
    prediction = model.predict(protos, inference_params=dict(max_tokens=100))
    assert len(prediction.outputs) == 16
    for i, output in enumerate(prediction.outputs):
        assert output.input.id == f"demo_{i}"
        assert output.data.text.raw.strip()
        assert 1 <= output.completion_tokens <= 100


def test_max_tokens_bounds_the_answer(client: V2Client, metadata: Metadata) -> None:
    output = _one(
        client, metadata, "Write a long story about a dragon.", max_tokens=5, do_sample=False
    )
    assert output.completion_tokens == 5 and _meta(output)["finish_reason"] == "length"


def test_greedy_is_repeatable_and_top_k_1_is_greedy(client: V2Client, metadata: Metadata) -> None:
    prompt = "Name three colours."
    first = _one(client, metadata, prompt, do_sample=False, max_tokens=24).data.text.raw
    second = _one(client, metadata, prompt, do_sample=False, max_tokens=24).data.text.raw
    top_k_1 = _one(client, metadata, prompt, top_k=1, temperature=1.0, max_tokens=24).data.text.raw
    assert first == second == top_k_1 and first


def test_seed_repeats_a_sampled_answer_and_another_seed_changes_it(
    client: V2Client, metadata: Metadata
) -> None:
    prompt = "Write one sentence about the sea."
    params = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "max_tokens": 32}
    a = _one(client, metadata, prompt, seed=11, **params).data.text.raw
    b = _one(client, metadata, prompt, seed=11, **params).data.text.raw
    others = {_one(client, metadata, prompt, seed=s, **params).data.text.raw for s in (12, 13, 14)}
    assert a == b
    assert others - {a}


def test_system_prompt_is_the_chat_templates_system_turn(
    client: V2Client, metadata: Metadata
) -> None:
    output = _one(
        client, metadata, "Hello", system_prompt="You are a pirate.", return_full_text=True,
        max_tokens=8,
    )  # fmt: skip
    text = output.data.text.raw
    assert text.startswith(
        "<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nHello"
    )
    assert "<|im_start|>assistant\n" in text
    plain = _one(client, metadata, "Hello", max_tokens=8, do_sample=False)
    assert not plain.data.text.raw.startswith("<|im_start|>")


def test_prompt_template_bypasses_the_chat_template(client: V2Client, metadata: Metadata) -> None:
    template = "System: {system_prompt}\nQuestion: {prompt}\nAgain: {prompt}\nAnswer:"
    output = _one(
        client, metadata, "What is 2+2?", prompt_template=template, system_prompt="Be exact.",
        return_full_text=True, max_tokens=8,
    )  # fmt: skip
    assert output.data.text.raw.startswith(
        "System: Be exact.\nQuestion: What is 2+2?\nAgain: What is 2+2?\nAnswer:"
    )
    assert "<|im_start|>" not in output.data.text.raw


def test_beam_search_beats_or_ties_greedy_and_differs(client: V2Client, metadata: Metadata) -> None:
    prompts = [
        "Summarize this: Jupiter is the fifth planet from the Sun and the largest in the "
        "Solar System.",
        "Translate into French: What rooms do you have available?",
        "Correct this to standard English: She no went to the market.",
    ]
    differed = False
    for prompt in prompts:
        greedy = _one(client, metadata, prompt, do_sample=False, max_tokens=12, logprobs=True)
        beam = _one(client, metadata, prompt, num_beams=4, max_tokens=12)
        assert _meta(beam)["logprob"] >= _meta(greedy)["logprob"] - 1e-3, prompt
        differed = differed or beam.data.text.raw != greedy.data.text.raw
    assert differed


def test_reasoning_effort_runs_a_bounded_reasoning_pass(
    client: V2Client, metadata: Metadata
) -> None:
    low = _one(client, metadata, "Is 17 a prime number?", max_tokens=16, do_sample=False)
    assert "reasoning" not in _meta(low)
    medium = _one(
        client,
        metadata,
        "Is 17 a prime number?",
        reasoning_effort="medium",
        max_tokens=16,
        do_sample=False,
    )
    meta = _meta(medium)
    assert meta["reasoning"] and 1 <= meta["reasoning_tokens"] <= 128
    assert medium.data.text.raw and meta["reasoning"] not in medium.data.text.raw


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"top_p": 1.5}, "top_p must be in (0, 1], got 1.5."),
        ({"temperature": -1}, "temperature must be in [0, 2]"),
        ({"max_tokens": 0}, "max_tokens must be between 1 and 4096"),
        ({"num_beams": 20}, "num_beams must be between 1 and 8"),
        ({"prompt_template": "no placeholder"}, "{prompt}"),
        ({"reasoning_effort": "extreme"}, "one of low, medium, high"),
        ({"frequency_penalty": 1}, "Accepted: max_tokens"),
    ],
)
def test_invalid_params_are_refused(
    client: V2Client, metadata: Metadata, params: dict[str, Any], fragment: str
) -> None:
    response = _generate(client, metadata, ["hi"], **params)
    assert response.status.code == status_code_pb2.MODEL_INVALID_ARGUMENT
    assert fragment in response.status.details


def test_prompt_longer_than_the_context_is_over_limit(client: V2Client, metadata: Metadata) -> None:
    response = _generate(client, metadata, ["word " * 3000, "short question?"], max_tokens=4)
    assert response.status.code == status_code_pb2.MIXED_STATUS
    long, short = response.outputs
    assert long.status.code == status_code_pb2.INPUT_OVER_LIMIT
    assert "2048 tokens" in long.status.details
    assert short.status.code == status_code_pb2.SUCCESS


def test_eight_concurrent_requests_all_finish(server: ServerThread) -> None:
    results: list[Any] = []

    def one(i: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            client = V2Client(channel)
            metadata = (("authorization", "Key " + server.pat),)
            results.append(
                _one(client, metadata, f"Count to {i + 3}.", max_tokens=24, do_sample=False)
            )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 8 and all(r.data.text.raw for r in results)


def test_streaming_with_the_official_sdk(server: ServerThread) -> None:
    model = ClarifaiModel(
        url=f"https://clarifai.com/clarion/main/models/{MODEL_ID}",
        pat=server.pat,
        base_url=server.grpc_url,
    )
    pieces = [
        r.outputs[0].data.text.raw
        for r in model.generate_by_bytes(
            b"Tell me about the Moon.",
            "text",
            inference_params={"max_tokens": 30, "do_sample": False},
        )
    ]
    assert len([p for p in pieces if p]) > 5
    assert "".join(pieces).strip()


def test_streaming_over_rest_is_newline_delimited_json(server: ServerThread) -> None:
    body = {
        "inputs": [{"id": "s1", "data": {"text": {"raw": "Tell me about the Moon."}}}],
        "model": {
            "model_version": {"output_info": {"params": {"max_tokens": 10, "do_sample": False}}}
        },
    }
    url = f"{server.rest_url}/v2/users/clarion/apps/main/models/{MODEL_ID}/outputs/generate"
    with httpx.stream(
        "POST", url, json=body, headers={"Authorization": "Key " + server.pat}, timeout=60
    ) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert len(lines) > 2
    assert all(line["result"]["status"]["code"] == 10000 for line in lines)
    assert lines[-1]["result"]["outputs"][0]["completion_tokens"] == 10


@pytest.fixture(scope="module")
def single_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server whose LLM admits one generating input at a time."""
    with ServerThread(make_settings(tmp_path_factory.mktemp("one"), llm_queue_size=1)) as s:
        yield s


def test_cancelling_a_stream_frees_its_slot_at_once(single_slot: ServerThread) -> None:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP,
        model_id=MODEL_ID,
        inputs=[
            resources_pb2.Input(
                data=resources_pb2.Data(text=resources_pb2.Text(raw="Write a very long essay."))
            )
        ],
    )
    request.model.model_version.output_info.params.update({"max_tokens": 2000})
    metadata = (("authorization", "Key " + single_slot.pat),)
    with grpc.insecure_channel(f"127.0.0.1:{single_slot.grpc_port}") as channel:
        client = V2Client(channel)
        stream = client.GenerateModelOutputs(request, metadata=metadata)
        for count, piece in enumerate(stream):
            assert piece.status.code == status_code_pb2.SUCCESS
            if count == 3:
                break
        busy = _generate(client, metadata, ["hi"], max_tokens=2)
        assert busy.status.code == status_code_pb2.MODEL_BUSY_PLEASE_RETRY  # the slot is taken
        stream.cancel()
        started = time.monotonic()
        while time.monotonic() - started < 10:
            response = _generate(client, metadata, ["hi"], max_tokens=2)
            if response.status.code == status_code_pb2.SUCCESS:
                break
            time.sleep(0.05)
        assert response.status.code == status_code_pb2.SUCCESS
        assert time.monotonic() - started < 3  # 2000 tokens would take far longer


def test_embedders_do_not_stream(client: V2Client, metadata: Metadata) -> None:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP,
        model_id="all-minilm-l6-v2",
        inputs=[resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw="x")))],
    )
    (response,) = list(client.GenerateModelOutputs(request, metadata=metadata))
    assert response.status.code == status_code_pb2.CONN_INVALID_REQUEST
    assert "does not stream" in response.status.details


def test_clarion_sdk_generate_and_predict_with_params(server: ServerThread) -> None:
    with ClarionModel(model_id=MODEL_ID, pat=server.pat, base_url=server.grpc_url) as model:
        pieces = [
            r.outputs[0].data.text.raw
            for r in model.generate_by_bytes(
                b"Tell me about the Moon.", inference_params={"max_tokens": 12, "do_sample": False}
            )
        ]
        assert len(pieces) > 2 and "".join(pieces).strip()
        greedy = {"max_tokens": 12, "do_sample": False}
        streamed = "".join(
            r.outputs[0].data.text.raw
            for r in model.generate_by_bytes(b"Name a fruit.", inference_params=greedy)
        )
        whole = model.predict_by_bytes(b"Name a fruit.", inference_params=greedy)
        assert streamed == whole.outputs[0].data.text.raw
        with pytest.raises(ClarionApiError) as info:
            model.predict_by_bytes(b"x", inference_params={"top_p": 7})
        assert info.value.code == status_code_pb2.MODEL_INVALID_ARGUMENT


def test_log_probabilities_are_computed_only_when_asked_for(
    client: V2Client, metadata: Metadata
) -> None:
    """Without ``logprobs`` the engine ranks no vocabulary per token and the metadata holds no
    ``logprob``; with it, the same greedy answer comes with its total log-probability."""
    prompt = "Name the largest planet of the Solar System."
    plain = _one(client, metadata, prompt, do_sample=False, max_tokens=10)
    scored = _one(client, metadata, prompt, do_sample=False, max_tokens=10, logprobs=True)
    assert "logprob" not in _meta(plain)
    assert scored.data.text.raw == plain.data.text.raw
    assert _meta(scored)["logprob"] < 0
