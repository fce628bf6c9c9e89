"""Image decoding: formats, modes, orientation and the refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clarion.errors import InputInvalid, InputUnsupported, StatusCode
from clarion.images import decode_image

LIMIT = 40_000_000


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _left_red_right_blue(width: int = 64, height: int = 32) -> Image.Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(array)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_formats_decode_to_rgb(fmt: str) -> None:
    image = decode_image(_encode(_left_red_right_blue(), fmt), LIMIT)
    assert image.mode == "RGB" and image.size == (64, 32)
    left, right = image.getpixel((5, 16)), image.getpixel((60, 16))
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((0, 255, 0), (255, 0, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    image = decode_image(buffer.getvalue(), LIMIT)
    assert image.getpixel((8, 8))[1] > 200


def test_grayscale_and_rgba() -> None:
    gray = decode_image(_encode(Image.new("L", (8, 8), 128), "PNG"), LIMIT)
    assert gray.mode == "RGB" and gray.getpixel((0, 0)) == (128, 128, 128)
    transparent = decode_image(_encode(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG"), LIMIT)
    assert transparent.getpixel((0, 0)) == (255, 255, 255)  # put on white, not black


def test_exif_rotation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    raw = _encode(_left_red_right_blue(), "JPEG", exif=exif)
    image = decode_image(raw, LIMIT)
    assert image.size == (32, 64)
    top, bottom = image.getpixel((16, 5)), image.getpixel((16, 60))
    assert top[0] > 200 and bottom[2] > 200  # left side (red) is now on top


def test_not_an_image() -> None:
    with pytest.raises(InputUnsupported) as info:
        decode_image(b"definitely not an image", LIMIT)
    assert info.value.code == StatusCode.INPUT_UNSUPPORTED_FORMAT


def test_truncated_jpeg() -> None:
    raw = _encode(_left_red_right_blue(256, 256), "JPEG")
    with pytest.raises(InputUnsupported, match="could not be decoded"):
        decode_image(raw[: len(raw) // 2], LIMIT)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    raw = _encode(Image.new("1", (20_000, 20_000)), "PNG")  # tiny file, 400 megapixels
    assert len(raw) < 200_000
    with pytest.raises(InputInvalid) as info:
        decode_image(raw, LIMIT)
    assert info.value.code == StatusCode.INPUT_INVALID_ARGUMENT
    assert "too large in pixels" in info.value.details


def test_pixel_limit_names_the_size_and_the_limit() -> None:
    raw = _encode(Image.new("1", (10_000, 5_000)), "PNG")
    with pytest.raises(InputInvalid) as info:
        decode_image(raw, LIMIT)
    assert "10000x5000" in info.value.details and str(LIMIT) in info.value.details


def test_empty_bytes() -> None:
    with pytest.raises(InputInvalid, match="empty"):
        decode_image(b"", LIMIT)
