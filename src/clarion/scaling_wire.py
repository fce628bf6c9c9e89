"""A model version's scaling settings as a Clarifai ``Deployment`` message.

The server answers with it and the SDK sends it, so both build it here. ``AutoscaleConfig``
holds the replica bounds and whole-second delays; the settings it has no field for travel
as numbers in the deployment's ``metadata``.
"""

from __future__ import annotations

from clarifai_grpc.grpc.api import resources_pb2
from google.protobuf import struct_pb2

from clarion.domain.scaling import ScalingSettings

#: The settings carried in ``Deployment.metadata``.
METADATA_SETTINGS = ("target_ongoing_requests", "max_ongoing_requests", "max_queued_requests")


def deployment_message(
    settings: ScalingSettings, user_id: str, app_id: str, model_id: str, version_id: str
) -> resources_pb2.Deployment:
    """The deployment of one model version (its id is the version's id)."""
    metadata = struct_pb2.Struct()
    metadata.update({name: getattr(settings, name) for name in METADATA_SETTINGS})
    return resources_pb2.Deployment(
        id=version_id,
        autoscale_config=resources_pb2.AutoscaleConfig(
            min_replicas=settings.min_replicas,
            max_replicas=settings.max_replicas,
            scale_up_delay_seconds=round(settings.scale_up_delay_seconds),
            scale_down_delay_seconds=round(settings.scale_down_delay_seconds),
            scale_to_zero_delay_seconds=round(settings.scale_to_zero_delay_seconds),
        ),
        worker=resources_pb2.Worker(
            model=resources_pb2.Model(
                id=model_id,
                user_id=user_id,
                app_id=app_id,
                model_version=resources_pb2.ModelVersion(id=version_id),
            )
        ),
        metadata=metadata,
    )
