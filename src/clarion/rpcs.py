"""Every RPC of the ``clarifai.api.V2`` service, read from clarifai-grpc's descriptors."""

from __future__ import annotations

from dataclasses import dataclass

from clarifai_grpc.grpc.api import service_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

SERVICE = service_pb2.DESCRIPTOR.services_by_name["V2"]
SERVICE_NAME = SERVICE.full_name


@dataclass(frozen=True)
class Rpc:
    name: str
    descriptor: MethodDescriptor
    request_class: type[Message]
    response_class: type[Message]

    @property
    def client_streaming(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)


RPCS: dict[str, Rpc] = {
    m.name: Rpc(
        name=m.name,
        descriptor=m,
        request_class=message_factory.GetMessageClass(m.input_type),
        response_class=message_factory.GetMessageClass(m.output_type),
    )
    for m in SERVICE.methods
}
