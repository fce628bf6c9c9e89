"""Test photos: a scikit-image picture as several distinct JPEGs of the same subject."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def photo_variants(array: np.ndarray) -> list[bytes]:
    """The picture as it is, mirrored, cropped, slightly rotated and in grayscale."""
    image = Image.fromarray(array)
    width, height = image.size
    return [
        jpeg(image),
        jpeg(ImageOps.mirror(image)),
        jpeg(image.crop((width // 10, height // 10, width, height))),
        jpeg(image.rotate(8, expand=False)),
        jpeg(ImageOps.grayscale(image)),
    ]
