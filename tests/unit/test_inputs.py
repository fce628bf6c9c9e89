"""InputDecoder: one set of rules for texts, images and conversations, with their limits."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import pytest
from PIL import Image

from clarion.config import Settings
from clarion.domain.values import ChatMessage, Input, InputKind, RawInput
from clarion.errors import InputError, InputInvalid, InputOverLimit, InputUnsupported
from clarion.inputs import InputDecoder
from tests.fetch import StaticFetcher


def _png(size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 10, 200)).save(out, "PNG")
    return out.getvalue()


BODIES = {
    "http://files/hello.txt": "héllo".encode(),
    "http://files/latin1.txt": "caf\xe9".encode("latin-1"),
    "http://files/blue.png": _png(),
}


@pytest.fixture
def decoder(settings: Settings) -> Iterator[InputDecoder]:
    decoder = InputDecoder(settings, StaticFetcher(settings, BODIES))
    yield decoder
    decoder.close()


def _decode(decoder: InputDecoder, raw: RawInput, kind: InputKind = InputKind.TEXT) -> Input:
    return asyncio.run(decoder.decode(raw, kind))


def test_texts_come_raw_or_from_a_url(decoder: InputDecoder) -> None:
    assert _decode(decoder, RawInput("a", text="hi")).text == "hi"
    assert _decode(decoder, RawInput("a", text_url="http://files/hello.txt")).text == "héllo"


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (RawInput("a"), InputInvalid, "has no data"),
        (RawInput("a", text="  "), InputInvalid, "text is empty"),
        (RawInput("a", text="x", text_url="http://files/hello.txt"), InputInvalid, "not both"),
        (RawInput("a", text_url="http://files/latin1.txt"), InputInvalid, "not valid UTF-8"),
        (RawInput("a", image_bytes=b"x"), InputUnsupported, "takes text inputs"),
    ],
)
def test_unusable_texts_are_refused(
    decoder: InputDecoder, raw: RawInput, error: type[InputError], message: str
) -> None:
    with pytest.raises(error, match=message):
        _decode(decoder, raw)


def test_texts_are_bounded_raw_and_from_a_url(settings: Settings) -> None:
    small = Settings.from_env({"CLARION_HOME": str(settings.home)}, max_text_bytes=4)
    decoder = InputDecoder(small, StaticFetcher(small, BODIES))
    try:
        assert _decode(decoder, RawInput("a", text="four")).text == "four"
        with pytest.raises(InputOverLimit, match="5 bytes; the limit is 4 bytes"):
            _decode(decoder, RawInput("a", text="fives"))
        with pytest.raises(InputOverLimit, match="6 bytes; the limit is 4 bytes"):
            _decode(decoder, RawInput("a", text_url="http://files/hello.txt"))
    finally:
        decoder.close()


def test_images_come_as_bytes_or_from_a_url_never_both(decoder: InputDecoder) -> None:
    png = BODIES["http://files/blue.png"]
    assert _decode(decoder, RawInput("i", image_bytes=png), InputKind.IMAGE).image.size == (8, 6)
    by_url = RawInput("i", image_url="http://files/blue.png")
    assert _decode(decoder, by_url, InputKind.IMAGE).image.size == (8, 6)
    assert asyncio.run(decoder.image_bytes(by_url)) == png
    for raw, error, message in (
        (RawInput("i", image_bytes=png, image_url="http://files/blue.png"), InputInvalid, "both"),
        (RawInput("i"), InputInvalid, "has no data"),
        (RawInput("i", text="a cat"), InputUnsupported, "carries text"),
        (RawInput("i", image_bytes=b"not an image"), InputUnsupported, "not an image"),
    ):
        with pytest.raises(error, match=message):
            _decode(decoder, raw, InputKind.IMAGE)


def test_a_conversation_needs_known_roles_and_a_user_message(decoder: InputDecoder) -> None:
    turns = (ChatMessage("system", "Be brief."), ChatMessage("user", "Hi"))
    decoded = _decode(decoder, RawInput("c", messages=turns))
    assert decoded.text == "Hi" and decoded.messages == turns
    with pytest.raises(InputInvalid, match="role must be one of"):
        _decode(decoder, RawInput("c", messages=(ChatMessage("robot", "Hi"),)))
    with pytest.raises(InputInvalid, match="no user message"):
        _decode(decoder, RawInput("c", messages=(ChatMessage("system", "Hi"),)))
    with pytest.raises(InputUnsupported, match="not a conversation"):
        _decode(decoder, RawInput("c", messages=turns), InputKind.IMAGE)


def test_a_batch_keeps_each_inputs_error_in_its_place(decoder: InputDecoder) -> None:
    raws = [RawInput("a", text="fine"), RawInput("b"), RawInput("c", text="also fine")]
    decoded = asyncio.run(decoder.decode_all(raws, InputKind.TEXT))
    assert [type(d) for d in decoded] == [Input, InputInvalid, Input]
