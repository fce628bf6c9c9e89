"""The Clarifai RPCs of an app's concepts and datasets (with their frozen versions).

Each handler converts its request into domain values, calls the concepts or datasets service
of :class:`WorkspaceService` and converts the answer, like :mod:`.workspace`.
"""

from __future__ import annotations

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_pb2

from clarion.api.clarifai import convert
from clarion.api.clarifai.caller import Caller
from clarion.api.clarifai.workspace import concepts, done, input_pb, inputs_pb
from clarion.domain.datasets import Dataset, DatasetVersion, NewDataset
from clarion.domain.values import Concept
from clarion.errors import InvalidRequest
from clarion.registry import Page
from clarion.workspace import WorkspaceService

DATASET_VERSION_READY = 64015


class DatasetHandlers:
    RPCS = (
        "PostConcepts", "ListConcepts", "GetConcept", "PatchConcepts",
        "PostDatasets", "ListDatasets", "GetDataset", "DeleteDatasets",
        "PostDatasetInputs", "ListDatasetInputs", "DeleteDatasetInputs",
        "PostDatasetVersions", "ListDatasetVersions", "GetDatasetVersion",
        "DeleteDatasetVersions",
    )  # fmt: skip

    def __init__(self, workspace: WorkspaceService) -> None:
        self._concepts = workspace.concepts
        self._datasets = workspace.datasets

    # concepts ------------------------------------------------------------------------

    async def PostConcepts(
        self, request: service_pb2.PostConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        ids = request.user_app_id
        added = self._concepts.add_concepts(
            caller.principal, ids.user_id, ids.app_id, concepts(request.concepts)
        )
        return concepts_response(added, ids.app_id)

    async def ListConcepts(
        self, request: service_pb2.ListConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        ids = request.user_app_id
        found = self._concepts.list_concepts(
            caller.principal, ids.user_id, ids.app_id, Page(request.page, request.per_page)
        )
        return concepts_response(found, ids.app_id)

    async def GetConcept(
        self, request: service_pb2.GetConceptRequest, caller: Caller
    ) -> service_pb2.SingleConceptResponse:
        ids = request.user_app_id
        found = self._concepts.get_concept(
            caller.principal, ids.user_id, ids.app_id, request.concept_id
        )
        return service_pb2.SingleConceptResponse(
            status=convert.ok_status(), concept=concept_pb(found, ids.app_id)
        )

    async def PatchConcepts(
        self, request: service_pb2.PatchConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        ids = request.user_app_id
        renamed = self._concepts.rename_concepts(
            caller.principal, ids.user_id, ids.app_id, concepts(request.concepts), request.action
        )
        return concepts_response(renamed, ids.app_id)

    # datasets ------------------------------------------------------------------------

    async def PostDatasets(
        self, request: service_pb2.PostDatasetsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetResponse:
        ids = request.user_app_id
        new = [NewDataset(d.id, d.description) for d in request.datasets]
        created = self._datasets.create_datasets(caller.principal, ids.user_id, ids.app_id, new)
        return datasets_response(created)

    async def ListDatasets(
        self, request: service_pb2.ListDatasetsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetResponse:
        ids = request.user_app_id
        found = self._datasets.list_datasets(
            caller.principal, ids.user_id, ids.app_id, Page(request.page, request.per_page)
        )
        return datasets_response(found)

    async def GetDataset(
        self, request: service_pb2.GetDatasetRequest, caller: Caller
    ) -> service_pb2.SingleDatasetResponse:
        ids = request.user_app_id
        found = self._datasets.get_dataset(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id
        )
        return service_pb2.SingleDatasetResponse(
            status=convert.ok_status(), dataset=dataset_pb(found)
        )

    async def DeleteDatasets(
        self, request: service_pb2.DeleteDatasetsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._datasets.delete_datasets(
            caller.principal, ids.user_id, ids.app_id, list(request.dataset_ids)
        )
        return done()

    async def PostDatasetInputs(
        self, request: service_pb2.PostDatasetInputsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetInputResponse:
        ids = request.user_app_id
        added = self._datasets.add_dataset_inputs(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id,
            [d.input.id for d in request.dataset_inputs],
        )  # fmt: skip
        return service_pb2.MultiDatasetInputResponse(
            status=convert.ok_status(),
            dataset_inputs=[resources_pb2.DatasetInput(input=input_pb(r)) for r in added],
        )

    async def ListDatasetInputs(
        self, request: service_pb2.ListDatasetInputsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetInputResponse:
        ids = request.user_app_id
        found = self._datasets.list_dataset_inputs(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id,
            Page(request.page, request.per_page),
        )  # fmt: skip
        return service_pb2.MultiDatasetInputResponse(
            status=convert.ok_status(),
            dataset_inputs=[
                resources_pb2.DatasetInput(input=pb, created_at=convert.timestamp(r.created_at))
                for r, pb in zip(found, await inputs_pb(found), strict=True)
            ],
        )

    async def DeleteDatasetInputs(
        self, request: service_pb2.DeleteDatasetInputsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._datasets.remove_dataset_inputs(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id, list(request.input_ids)
        )
        return done()

    # dataset versions ----------------------------------------------------------------

    async def PostDatasetVersions(
        self, request: service_pb2.PostDatasetVersionsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetVersionResponse:
        if len(request.dataset_versions) > 1:
            raise InvalidRequest("PostDatasetVersions creates one version at a time.")
        description = request.dataset_versions[0].description if request.dataset_versions else ""
        ids = request.user_app_id
        created = await self._datasets.create_version(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id, description
        )
        return service_pb2.MultiDatasetVersionResponse(
            status=convert.ok_status(),
            dataset_versions=[version_pb(created)],
        )

    async def ListDatasetVersions(
        self, request: service_pb2.ListDatasetVersionsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetVersionResponse:
        ids = request.user_app_id
        found = self._datasets.list_versions(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id,
            Page(request.page, request.per_page),
        )  # fmt: skip
        return service_pb2.MultiDatasetVersionResponse(
            status=convert.ok_status(),
            dataset_versions=[version_pb(v) for v in found],
        )

    async def GetDatasetVersion(
        self, request: service_pb2.GetDatasetVersionRequest, caller: Caller
    ) -> service_pb2.SingleDatasetVersionResponse:
        ids = request.user_app_id
        found = self._datasets.get_version(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id,
            request.dataset_version_id,
        )  # fmt: skip
        return service_pb2.SingleDatasetVersionResponse(
            status=convert.ok_status(), dataset_version=version_pb(found)
        )

    async def DeleteDatasetVersions(
        self, request: service_pb2.DeleteDatasetVersionsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._datasets.delete_versions(
            caller.principal, ids.user_id, ids.app_id, request.dataset_id,
            list(request.dataset_version_ids),
        )  # fmt: skip
        return done()


# domain -> wire -----------------------------------------------------------------------


def concepts_response(found: list[Concept], app_id: str) -> service_pb2.MultiConceptResponse:
    return service_pb2.MultiConceptResponse(
        status=convert.ok_status(), concepts=[concept_pb(c, app_id) for c in found]
    )


def concept_pb(concept: Concept, app_id: str) -> resources_pb2.Concept:
    return resources_pb2.Concept(id=concept.id, name=concept.name, value=1.0, app_id=app_id)


def datasets_response(found: list[Dataset]) -> service_pb2.MultiDatasetResponse:
    return service_pb2.MultiDatasetResponse(
        status=convert.ok_status(), datasets=[dataset_pb(d) for d in found]
    )


def dataset_pb(dataset: Dataset) -> resources_pb2.Dataset:
    pb = resources_pb2.Dataset(
        id=dataset.dataset_id, app_id=dataset.app_id, user_id=dataset.user_id,
        description=dataset.description,
    )  # fmt: skip
    pb.created_at.CopyFrom(convert.timestamp(dataset.created_at))
    pb.metadata.update({"input_count": dataset.input_count})
    return pb


def version_pb(version: DatasetVersion) -> resources_pb2.DatasetVersion:
    pb = resources_pb2.DatasetVersion(
        id=version.id, app_id=version.app_id, user_id=version.user_id,
        dataset_id=version.dataset_id,
        description=version.description,
    )  # fmt: skip
    pb.created_at.CopyFrom(convert.timestamp(version.created_at))
    pb.status.code = DATASET_VERSION_READY  # frozen when created
    pb.status.description = "Dataset version is ready"
    metrics = pb.metrics["/"]
    metrics.inputs_count.value = len(version.snapshot)
    metrics.unlabeled_inputs_count.value = version.unlabelled_count
    metrics.positive_input_tags_count.value = version.positive_label_count
    return pb
