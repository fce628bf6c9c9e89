"""Image decoding: formats, modes, orientation and the refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clarion.errors import InputInvalid, InputUnsupported, StatusCode
from clarion.images import WORKING_SHORT_SIDE, PixelBudget, decode_image

LIMIT = 40_000_000


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """The colour at ``xy`` of a multi-band image, one value per band."""
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def _left_red_right_blue(width: int = 64, height: int = 32) -> Image.Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(array)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_formats_decode_to_rgb(fmt: str) -> None:
    image = decode_image(_encode(_left_red_right_blue(), fmt), LIMIT)
    assert image.mode == "RGB" and image.size == (64, 32)
    left, right = _pixel(image, (5, 16)), _pixel(image, (60, 16))
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((0, 255, 0), (255, 0, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    image = decode_image(buffer.getvalue(), LIMIT)
    assert _pixel(image, (8, 8))[1] > 200


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
    top, bottom = _pixel(image, (16, 5)), _pixel(image, (16, 60))
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


@pytest.mark.parametrize(
    "mode, fmt",
    [("RGB", "JPEG"), ("RGB", "PNG"), ("1", "PNG"), ("L", "PNG"), ("P", "GIF"), ("RGBA", "PNG")],
)
def test_large_images_are_reduced_while_decoding(mode: str, fmt: str) -> None:
    large = _left_red_right_blue(3000, 2000).convert(mode)
    image = decode_image(_encode(large, fmt), LIMIT)
    assert image.mode == "RGB"
    assert WORKING_SHORT_SIDE <= min(image.size) < 2 * WORKING_SHORT_SIDE
    assert image.size[0] / image.size[1] == pytest.approx(1.5, rel=0.02)


def test_small_images_keep_their_size() -> None:
    assert decode_image(_encode(_left_red_right_blue(500, 300), "PNG"), LIMIT).size == (500, 300)


def test_reduction_keeps_colours_and_transparency() -> None:
    image = decode_image(_encode(_left_red_right_blue(2048, 1024), "JPEG"), LIMIT)
    left, right = _pixel(image, (10, 100)), _pixel(image, (image.size[0] - 10, 100))
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60
    clear = decode_image(_encode(Image.new("RGBA", (2048, 1024), (0, 0, 0, 0)), "PNG"), LIMIT)
    assert clear.getpixel((5, 5)) == (255, 255, 255)


def test_pixel_budget_is_shared_by_a_request() -> None:
    raw = _encode(Image.new("1", (4000, 4000)), "PNG")
    budget = PixelBudget(40_000_000)
    decode_image(raw, LIMIT, budget)
    decode_image(raw, LIMIT, budget)
    with pytest.raises(InputInvalid) as caught:
        decode_image(raw, LIMIT, budget)
    assert caught.value.code == StatusCode.INPUT_INVALID_ARGUMENT
    assert "budget of 40000000 decoded pixels" in caught.value.details
    assert "CLARION_MAX_REQUEST_PIXELS" in caught.value.details
    assert budget.used == 32_000_000


def test_jpeg_budget_counts_the_reduced_pixels() -> None:
    budget = PixelBudget(10**9)
    decode_image(_encode(_left_red_right_blue(4000, 3000), "JPEG"), LIMIT, budget)
    assert budget.used == 500 * 375  # decoded at 1/8 scale
