"""InputService on an in-memory registry: storing, labelling and decoding inputs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from clarion.auth import Principal
from clarion.config import Settings
from clarion.directory import ModelDirectory
from clarion.domain.values import Concept, InputKind, RawInput
from clarion.domain.workspace import InputPatch, NewInput
from clarion.errors import (
    InputInvalid,
    InputOverLimit,
    InvalidParameter,
    InvalidRequest,
    ResourceNotFound,
)
from clarion.input_files import InputFiles
from clarion.inputs import InputDecoder
from clarion.registry import Page, Registry
from clarion.workspace.inputs import InputService
from tests.fetch import StaticFetcher

ALICE = Principal("alice", "k1")
PAGE = Page(1, 100)


@dataclass
class Workspace:
    service: InputService
    registry: Registry
    files: InputFiles
    settings: Settings


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


PNG = _png()
BODIES = {"http://files/latin1.txt": "caf\xe9".encode("latin-1"), "http://files/red.png": PNG}


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    registry = Registry.open("sqlite://")
    registry.ensure_app("alice", "news")
    decoder = InputDecoder(settings, StaticFetcher(settings, BODIES))
    files = InputFiles(settings.home / "inputs")
    service = InputService(registry, ModelDirectory(registry), decoder, files)
    yield Workspace(service, registry, files, settings)
    decoder.close()
    registry.close()


def _text(input_id: str, text: str, *labels: Concept) -> NewInput:
    return NewInput(RawInput(input_id, text=text), labels=labels)


def _add(workspace: Workspace, *inputs: NewInput) -> list[str]:
    stored = asyncio.run(workspace.service.add_inputs(ALICE, "me", "news", inputs))
    return [s.input_id for s in stored]


def _stored(workspace: Workspace) -> dict[str, dict[str, float]]:
    found = workspace.service.list_inputs(ALICE, "me", "news", PAGE)
    return {s.input_id: dict(s.concepts) for s in found}


def _files(workspace: Workspace) -> list[Path]:
    return sorted(workspace.files.root.glob("*/*")) if workspace.files.root.is_dir() else []


def test_inputs_are_stored_with_their_labels_and_their_concepts_join_the_app(
    workspace: Workspace,
) -> None:
    _add(
        workspace, _text("a", "A goal", Concept("sports", "Sports", 1.0), Concept("food", "", 0.0))
    )
    assert _stored(workspace) == {"a": {"sports": 1.0, "food": 0.0}}
    concepts = workspace.registry.list_concepts("alice", "news")
    assert {(c.id, c.name) for c in concepts} == {("sports", "Sports"), ("food", "food")}
    with pytest.raises(InvalidParameter, match=r"concept values must be 1 or 0, got 0\.5"):
        _add(workspace, _text("b", "Soup", Concept("food", "", 0.5)))


def test_patches_merge_overwrite_and_remove_labels(workspace: Workspace) -> None:
    _add(workspace, _text("a", "A goal", Concept("sports", "", 1.0)))
    service = workspace.service

    def patch(action: str, *labels: Concept) -> dict[str, float]:
        (changed,) = service.patch_inputs(ALICE, "me", "news", [InputPatch("a", labels)], action)
        return dict(changed.concepts)

    assert patch("", Concept("news", "", 1.0)) == {"sports": 1.0, "news": 1.0}  # merge
    assert patch("merge", Concept("sports", "", 0.0)) == {"sports": 0.0, "news": 1.0}
    assert patch("remove", Concept("sports", "", 1.0)) == {"news": 1.0}
    assert patch("overwrite", Concept("food", "", 1.0)) == {"food": 1.0}
    assert _stored(workspace) == {"a": {"food": 1.0}}
    with pytest.raises(InvalidRequest, match="action must be merge, overwrite or remove"):
        patch("replace")
    with pytest.raises(ResourceNotFound, match="do not exist in alice/news: nope"):
        service.patch_inputs(ALICE, "me", "news", [InputPatch("nope")], "merge")


def test_repeated_and_existing_ids_are_refused_and_nothing_is_stored(
    workspace: Workspace,
) -> None:
    with pytest.raises(InvalidRequest, match="Input ids repeat in the request: a"):
        _add(workspace, _text("a", "one"), _text("a", "two"))
    assert _stored(workspace) == {}
    _add(workspace, _text("a", "one"))
    image = NewInput(RawInput("b", image_bytes=PNG))
    with pytest.raises(InvalidRequest, match=r"already exist: a\. Nothing was stored"):
        _add(workspace, image, _text("a", "again"))
    assert set(_stored(workspace)) == {"a"}
    assert _files(workspace) == []  # the image written for "b" was removed again


def test_files_are_removed_when_the_registry_refuses_the_inputs(workspace: Workspace) -> None:
    image = NewInput(RawInput("b", image_bytes=PNG))
    in_missing_dataset = NewInput(RawInput("c", text="Soup"), dataset_ids=("nope",))
    with pytest.raises(InvalidRequest, match="No dataset nope in alice/news"):
        _add(workspace, image, in_missing_dataset)
    assert _stored(workspace) == {} and _files(workspace) == []
    assert _add(workspace, image) == ["b"]
    (stored,) = workspace.service.list_inputs(ALICE, "me", "news", PAGE)
    assert stored.kind is InputKind.IMAGE and stored.file is not None
    assert Path(stored.file).read_bytes() == PNG


def test_text_at_a_url_that_is_not_utf8_is_an_invalid_input(workspace: Workspace) -> None:
    latin = NewInput(RawInput("t", text_url="http://files/latin1.txt"))
    with pytest.raises(InputInvalid, match=r"Input t: .* is not valid UTF-8") as refused:
        _add(workspace, latin)
    assert refused.value.code == 30104
    assert _stored(workspace) == {}


def test_stored_texts_have_the_prediction_size_limit(workspace: Workspace) -> None:
    limit = workspace.settings.max_text_bytes
    with pytest.raises(InputOverLimit, match=f"the limit is {limit} bytes") as refused:
        _add(workspace, _text("big", "a" * (limit + 1)))
    assert refused.value.code == 30105
    assert _add(workspace, _text("fits", "a" * limit)) == ["fits"]


def test_an_image_given_as_bytes_and_as_a_url_is_refused(workspace: Workspace) -> None:
    both = NewInput(RawInput("i", image_bytes=PNG, image_url="http://files/red.png"))
    with pytest.raises(InputInvalid, match=r"base64 or data\.image\.url, not both"):
        _add(workspace, both)
    assert _stored(workspace) == {} and _files(workspace) == []
    assert _add(workspace, NewInput(RawInput("i", image_url="http://files/red.png"))) == ["i"]
