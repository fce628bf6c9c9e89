"""Building Clarifai ``Input`` messages, with the same helpers as the Clarifai SDK.

Inputs.get_input_from_bytes("demo_0", text_bytes=b"What's the future of AI?")
Inputs.get_input_from_url("img", image_url="https://example.com/cat.jpg")
Inputs.get_input_from_file("doc", text_file="notes.txt")
"""

from __future__ import annotations

import uuid
from pathlib import Path

from clarifai_grpc.grpc.api import resources_pb2


def _text_from_bytes(raw: bytes) -> resources_pb2.Text:
    try:
        return resources_pb2.Text(raw=raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"text_bytes must be UTF-8 text (byte {exc.start} is not).") from exc


class Inputs:
    """Static helpers that make ``resources_pb2.Input`` values."""

    @staticmethod
    def get_input_from_bytes(
        input_id: str = "", text_bytes: bytes | None = None, image_bytes: bytes | None = None
    ) -> resources_pb2.Input:
        if (text_bytes is None) == (image_bytes is None):
            raise ValueError("Give exactly one of text_bytes or image_bytes.")
        data = resources_pb2.Data()
        if text_bytes is not None:
            data.text.CopyFrom(_text_from_bytes(text_bytes))
        else:
            data.image.base64 = image_bytes or b""
        return resources_pb2.Input(id=input_id or uuid.uuid4().hex, data=data)

    @staticmethod
    def get_input_from_url(
        input_id: str = "", text_url: str | None = None, image_url: str | None = None
    ) -> resources_pb2.Input:
        if (text_url is None) == (image_url is None):
            raise ValueError("Give exactly one of text_url or image_url.")
        data = resources_pb2.Data()
        if text_url is not None:
            data.text.url = text_url
        else:
            data.image.url = image_url or ""
        return resources_pb2.Input(id=input_id or uuid.uuid4().hex, data=data)

    @staticmethod
    def get_input_from_file(
        input_id: str = "",
        text_file: str | Path | None = None,
        image_file: str | Path | None = None,
    ) -> resources_pb2.Input:
        if (text_file is None) == (image_file is None):
            raise ValueError("Give exactly one of text_file or image_file.")
        if text_file is not None:
            return Inputs.get_input_from_bytes(input_id, text_bytes=Path(text_file).read_bytes())
        return Inputs.get_input_from_bytes(input_id, image_bytes=Path(str(image_file)).read_bytes())
