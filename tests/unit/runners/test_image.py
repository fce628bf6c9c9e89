"""The image runner's preprocessing: the crop's region resized in one step, one scaling pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clarion.runners.image import ImageRunner, preprocess, to_network_input


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth test picture with some detail, so resampling differences would show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    noisy = base + rng.normal(0, 20, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def _resize_then_crop(image: Image.Image, short_side: int, crop: int) -> np.ndarray:
    width, height = image.size
    scale = short_side / min(width, height)
    size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - crop) // 2, (size[1] - crop) // 2
    return np.asarray(resized.crop((left, top, left + crop, top + crop)), dtype=np.int16)


@pytest.mark.parametrize("size", [(451, 300), (300, 451), (640, 427), (256, 256), (120, 90)])
def test_the_crop_matches_resizing_the_whole_image_then_cutting_its_centre(
    size: tuple[int, int],
) -> None:
    image = _photo(*size)
    got = preprocess(image, 256, 224)
    assert got.shape == (224, 224, 3) and got.dtype == np.uint8
    difference = np.abs(got.astype(np.int16) - _resize_then_crop(image, 256, 224))
    assert difference.max() <= 1, "at most one grey level of rounding"
    assert difference.mean() < 0.3, "most pixels equal"


def test_the_network_input_is_nchw_in_minus_one_to_one() -> None:
    arrays = [preprocess(_photo(300, 200, seed), 256, 224) for seed in range(3)]
    batch = to_network_input(arrays)
    assert batch.shape == (3, 3, 224, 224) and batch.dtype == np.float32
    for array, row in zip(arrays, batch, strict=True):
        expected = array.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        np.testing.assert_array_equal(row, expected)
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_the_batcher_closes_a_batch_at_one_onnxruntime_chunk(tmp_path: Path) -> None:
    runner = ImageRunner(tmp_path / "model.onnx", "probabilities", chunk_size=16)
    assert runner.max_batch_size == 16
