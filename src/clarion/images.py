"""Decoding image bytes safely: format check, pixel limit before decoding, EXIF orientation.

JPEG, PNG, WebP, GIF (first frame), BMP and TIFF are accepted. The pixel count is checked
from the header, before any pixel is decoded, so a decompression bomb is refused cheaply.
Grayscale, palette and CMYK images become RGB; transparent pixels are put on white.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from clarion.errors import InputInvalid, InputUnsupported

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """An RGB image from encoded bytes, or an :class:`InputError` saying why not."""
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
            image.load()
    except UnidentifiedImageError as exc:
        raise InputUnsupported(
            f"The bytes are not an image in a supported format ({', '.join(FORMATS)})."
        ) from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InputInvalid(f"The image is too large in pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputUnsupported(f"The image could not be decoded: {exc}.") from exc
    image = ImageOps.exif_transpose(image) or image
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
