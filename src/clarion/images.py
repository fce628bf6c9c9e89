"""Decoding image bytes safely and small: format check, pixel limits before decoding,
reduction while decoding, EXIF orientation.

JPEG, PNG, WebP, GIF (first frame), BMP and TIFF are accepted. The pixel count is checked
from the header, before any pixel is decoded, so a decompression bomb is refused cheaply.
An image is reduced as it is decoded so that it never stays in memory at full size: JPEGs
are decoded at a DCT scale of 1/2, 1/4 or 1/8 (``draft``), other formats are reduced by an
integer factor (``reduce``, a box filter) right after decoding; either way the short side
stays at least :data:`WORKING_SHORT_SIDE`, the most any image model resizes to. Grayscale,
palette and CMYK images become RGB; transparent pixels are put on white.

A :class:`PixelBudget` bounds the pixels one request may decode across all its images.
"""

from __future__ import annotations

import io
import math
import threading
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from clarion.errors import InputInvalid, InputUnsupported

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
#: Images are kept with a short side of at least this many pixels (the image models resize
#: to 256 before their 224 centre crop).
WORKING_SHORT_SIDE = 256
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA")


class PixelBudget:
    """The pixels one request may decode across its images; shared by the decode threads.

    budget = PixelBudget(1_000_000_000)
    decode_image(data, max_pixels, budget)   # charges the pixels it decodes, or refuses
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def charge(self, width: int, height: int) -> None:
        """Take ``width x height`` pixels, or raise 30104 when they would pass the budget."""
        pixels = width * height
        with self._lock:
            if self.used + pixels > self.limit:
                raise InputInvalid(
                    f"Decoding this image ({width}x{height} = {pixels} pixels) would take the "
                    f"request past its budget of {self.limit} decoded pixels "
                    f"(CLARION_MAX_REQUEST_PIXELS; {self.used} used by its other images). "
                    "Send smaller images or fewer per request."
                )
            self.used += pixels


def decode_image(
    data: bytes,
    max_pixels: int,
    budget: PixelBudget | None = None,
    short_side: int = WORKING_SHORT_SIDE,
) -> Image.Image:
    """An RGB image from encoded bytes, reduced to a short side of at least ``short_side``
    (never enlarged), or an :class:`InputError` saying why not."""
    if not data:
        raise InputInvalid("The image is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise InputInvalid(
                    f"The image is {width}x{height} = {width * height} pixels; "
                    f"the limit is {max_pixels} pixels."
                )
            if image.format == "JPEG":
                image.draft("RGB", _at_least(image.size, short_side))
            if budget is not None:
                budget.charge(*image.size)
            image.load()
    except UnidentifiedImageError as exc:
        raise InputUnsupported(
            f"The bytes are not an image in a supported format ({', '.join(FORMATS)})."
        ) from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InputInvalid(f"The image is too large in pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputUnsupported(f"The image could not be decoded: {exc}.") from exc
    image = reduce_to(image, short_side)
    image = ImageOps.exif_transpose(image) or image
    return to_rgb(image)


def reduce_to(image: Image.Image, short_side: int) -> Image.Image:
    """``image`` shrunk by the largest integer factor that keeps its short side at least
    ``short_side``; the full-size pixels are released as soon as the small copy exists."""
    factor = min(image.size) // short_side
    if factor < 2:
        return image
    if image.mode not in _REDUCIBLE_MODES:
        has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "L" if image.mode == "1" else "RGB")
    return image.reduce(factor)


def _at_least(size: tuple[int, int], short_side: int) -> tuple[int, int]:
    scale = min(1.0, short_side / min(size))
    return math.ceil(size[0] * scale), math.ceil(size[1] * scale)


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
