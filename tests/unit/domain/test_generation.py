"""GenerationParams: wire forms accepted, every invalid value refused with a clear message."""

from __future__ import annotations

import pytest

from clarion.domain.generation import GenerationParams, ReasoningEffort
from clarion.errors import InvalidParameter, StatusCode


def test_struct_doubles_and_strings_are_accepted() -> None:
    params = GenerationParams.parse(
        {
            "max_tokens": 100.0,
            "temperature": "0.2",
            "top_p": 0.9,
            "top_k": "0",
            "seed": 7.0,
            "stop": ["\n\n", "END"],
            "do_sample": "false",
            "return_full_text": True,
            "system_prompt": "Be brief.",
            "prompt_template": "Q: {prompt}\nA:",
            "reasoning_effort": "High",
        }
    )
    assert params.max_tokens == 100 and params.temperature == 0.2 and params.top_k == 0
    assert params.seed == 7 and params.stop == ("\n\n", "END") and params.greedy
    assert params.reasoning_effort is ReasoningEffort.HIGH
    assert GenerationParams.parse({"stop": "###"}).stop == ("###",)


def test_beams_imply_deterministic_search() -> None:
    assert GenerationParams.parse({"num_beams": 4}).do_sample is False
    with pytest.raises(InvalidParameter, match="num_beams > 1 is deterministic"):
        GenerationParams.parse({"num_beams": 4, "do_sample": True})


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"max_tokens": 0}, "max_tokens must be between 1 and 4096, got 0."),
        ({"max_tokens": 100.5}, "max_tokens must be an integer, got 100.5."),
        ({"max_tokens": "lots"}, "max_tokens must be a number, got 'lots'."),
        ({"temperature": 2.5}, "temperature must be in [0, 2], got 2.5."),
        ({"temperature": True}, "temperature must be a number, got True."),
        ({"top_p": 1.5}, "top_p must be in (0, 1], got 1.5."),
        ({"top_p": 0}, "top_p must be in (0, 1], got 0.0."),
        ({"top_k": -1}, "top_k must be in [0, 2**31) (0 turns it off), got -1."),
        ({"top_k": 2**31}, "top_k must be in [0, 2**31) (0 turns it off), got 2147483648."),
        ({"seed": -3}, "seed must be in [0, 2**32), got -3."),
        ({"num_beams": 9}, "num_beams must be between 1 and 8, got 9."),
        ({"do_sample": "maybe"}, "do_sample must be true or false, got 'maybe'."),
        ({"stop": [""]}, "stop must be a non-empty string or a list of them, got ['']."),
        ({"stop": ["a"] * 9}, "stop must be at most 8 sequences, got '9 sequences'."),
        ({"system_prompt": 5}, "system_prompt must be a string, got 5."),
        ({"reasoning_effort": "max"}, "reasoning_effort must be one of low, medium, high"),
        ({"prompt_template": "no placeholder"}, "placeholder {prompt}"),
        ({"max_tokens": float("nan")}, "max_tokens must be a finite number"),
    ],
)
def test_invalid_values(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        GenerationParams.parse(raw)
    assert info.value.code == StatusCode.MODEL_INVALID_ARGUMENT
    assert message in info.value.details
    assert info.value.parameter == next(iter(raw))


def test_unknown_names_list_the_accepted_ones() -> None:
    with pytest.raises(InvalidParameter) as info:
        GenerationParams.parse({"temprature": 0.5, "max_tokens": 5})
    assert "Unknown inference parameter(s): temprature." in info.value.details
    for name in GenerationParams.accepted():
        assert name in info.value.details
