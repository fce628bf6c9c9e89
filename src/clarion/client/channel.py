"""gRPC channels to a Clarion (or Clarifai) server from a ``base_url``.

``http://host:port`` gives a plaintext channel; ``https://host:port`` a TLS channel that
trusts ``root_certificates_path`` when given (a private CA works) and the system roots
otherwise. A ``base_url`` without a scheme is taken as ``http://``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from clarion.rpcs import RPCS, SERVICE_NAME

DEFAULT_BASE_URL = "http://127.0.0.1:50051"
_MAX_MESSAGE = 1024 * 1024 * 1024


def channel_for(base_url: str, root_certificates_path: str | Path | None = None) -> grpc.Channel:
    if "://" not in base_url:
        base_url = f"http://{base_url}"
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must look like http(s)://host:port, got {base_url!r}.")
    default_port = 443 if parts.scheme == "https" else 80
    target = f"{parts.hostname}:{parts.port or default_port}"
    options = [
        ("grpc.max_receive_message_length", _MAX_MESSAGE),
        ("grpc.max_send_message_length", _MAX_MESSAGE),
    ]
    if parts.scheme == "http":
        return grpc.insecure_channel(target, options=options)
    roots = Path(root_certificates_path).read_bytes() if root_certificates_path else None
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(roots), options=options)


class V2Client:
    """Unary callables for every ``clarifai.api.V2`` RPC on a channel.

    clarifai-grpc's generated ``V2Stub`` picks its response decoder from a module-level
    global that whichever ``ClarifaiChannel`` was made last sets; this client has no such
    shared state, so it works beside the JSON channel in one process.
    """

    def __init__(self, channel: grpc.Channel) -> None:
        self._channel = channel

    def __getattr__(self, name: str) -> Any:
        rpc = RPCS.get(name)
        if rpc is None or rpc.client_streaming:
            raise AttributeError(name)
        make = self._channel.unary_stream if rpc.server_streaming else self._channel.unary_unary
        return make(
            f"/{SERVICE_NAME}/{name}",
            request_serializer=rpc.request_class.SerializeToString,
            response_deserializer=rpc.response_class.FromString,
        )
