"""The Clarifai RPCs of an app's concepts and datasets (with their frozen versions).

Same rules as :mod:`.workspace`: a user sees and changes only their own apps, and
``clarion/main`` is read-only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_pb2

from clarion.api.clarifai import convert
from clarion.api.clarifai.caller import Caller
from clarion.api.clarifai.workspace import done, input_pb, inputs_pb
from clarion.datasets import DatasetVersions
from clarion.directory import ModelDirectory
from clarion.domain.values import Concept
from clarion.errors import InvalidRequest, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.registry.datasets import DatasetRecord, DatasetVersionRecord
from clarion.workspace import MAX_INPUTS_PER_REQUEST, bounded_ids, bounded_text

MAX_CONCEPTS_PER_REQUEST = 128
MAX_ID_LENGTH = 128
MAX_DATASET_DESCRIPTION = 1000
MAX_VERSION_DESCRIPTION = 2000


class DatasetHandlers:
    RPCS = (
        "PostConcepts", "ListConcepts", "GetConcept", "PatchConcepts",
        "PostDatasets", "ListDatasets", "GetDataset", "DeleteDatasets",
        "PostDatasetInputs", "ListDatasetInputs", "DeleteDatasetInputs",
        "PostDatasetVersions", "ListDatasetVersions", "GetDatasetVersion",
        "DeleteDatasetVersions",
    )  # fmt: skip

    def __init__(
        self, registry: Registry, directory: ModelDirectory, versions: DatasetVersions
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._versions = versions

    def _readable(self, request: Any, caller: Caller) -> tuple[str, str]:
        ids = request.user_app_id
        return self._directory.readable_app(caller.principal, ids.user_id, ids.app_id)

    def _writable(self, request: Any, caller: Caller) -> tuple[str, str]:
        ids = request.user_app_id
        return self._directory.writable_app(caller.principal, ids.user_id, ids.app_id)

    # concepts ------------------------------------------------------------------------

    async def PostConcepts(
        self, request: service_pb2.PostConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        user_id, app_id = self._writable(request, caller)
        concepts = _concept_records(request.concepts)
        existing = self._registry.add_concepts(user_id, app_id, concepts)
        if existing:
            raise InvalidRequest(
                f"These concepts already exist in app {user_id}/{app_id}: {', '.join(existing)}; "
                "nothing was added (rename concepts with PatchConcepts)."
            )
        return service_pb2.MultiConceptResponse(
            status=convert.ok_status(), concepts=[_concept_pb(c, app_id) for c in concepts]
        )

    async def ListConcepts(
        self, request: service_pb2.ListConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        user_id, app_id = self._readable(request, caller)
        page = Page(request.page, request.per_page)
        concepts = self._registry.list_concepts(user_id, app_id, page.offset, page.limit)
        return service_pb2.MultiConceptResponse(
            status=convert.ok_status(), concepts=[_concept_pb(c, app_id) for c in concepts]
        )

    async def GetConcept(
        self, request: service_pb2.GetConceptRequest, caller: Caller
    ) -> service_pb2.SingleConceptResponse:
        user_id, app_id = self._readable(request, caller)
        found = self._registry.list_concepts(user_id, app_id, ids=[request.concept_id])
        if not found:
            raise ResourceNotFound(
                f"Concept {request.concept_id!r} does not exist in app {user_id}/{app_id}."
            )
        return service_pb2.SingleConceptResponse(
            status=convert.ok_status(), concept=_concept_pb(found[0], app_id)
        )

    async def PatchConcepts(
        self, request: service_pb2.PatchConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        user_id, app_id = self._writable(request, caller)
        if request.action not in ("", "overwrite"):
            raise InvalidRequest(
                f"PatchConcepts action must be overwrite (renames), got {request.action!r}."
            )
        concepts = _concept_records(request.concepts)
        missing = self._registry.rename_concepts(user_id, app_id, {c.id: c.name for c in concepts})
        if missing:
            raise ResourceNotFound(
                f"These concepts do not exist in app {user_id}/{app_id}: {', '.join(missing)}; "
                "nothing was changed."
            )
        return service_pb2.MultiConceptResponse(
            status=convert.ok_status(), concepts=[_concept_pb(c, app_id) for c in concepts]
        )

    # datasets ------------------------------------------------------------------------

    async def PostDatasets(
        self, request: service_pb2.PostDatasetsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetResponse:
        user_id, app_id = self._writable(request, caller)
        if not 1 <= len(request.datasets) <= MAX_CONCEPTS_PER_REQUEST:
            raise InvalidRequest(
                f"PostDatasets takes 1 to {MAX_CONCEPTS_PER_REQUEST} datasets, "
                f"got {len(request.datasets)}."
            )
        for dataset in request.datasets:
            _check_id("dataset", dataset.id)
            bounded_text(dataset.description, "A dataset's description", MAX_DATASET_DESCRIPTION)
        taken = self._registry.add_datasets(
            user_id, app_id, [(d.id, d.description) for d in request.datasets]
        )
        if taken:
            raise InvalidRequest(
                f"These datasets already exist in {user_id}/{app_id} or repeat in the "
                f"request: {', '.join(taken)}; nothing was created."
            )
        created = []
        for dataset in request.datasets:
            record = self._registry.get_dataset(user_id, app_id, dataset.id)
            assert record is not None
            created.append(_dataset_pb(record, user_id, app_id))
        return service_pb2.MultiDatasetResponse(status=convert.ok_status(), datasets=created)

    async def ListDatasets(
        self, request: service_pb2.ListDatasetsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetResponse:
        user_id, app_id = self._readable(request, caller)
        page = Page(request.page, request.per_page)
        records = self._registry.list_datasets(user_id, app_id, page.offset, page.limit)
        return service_pb2.MultiDatasetResponse(
            status=convert.ok_status(),
            datasets=[_dataset_pb(r, user_id, app_id) for r in records],
        )

    async def GetDataset(
        self, request: service_pb2.GetDatasetRequest, caller: Caller
    ) -> service_pb2.SingleDatasetResponse:
        user_id, app_id = self._readable(request, caller)
        record = self._dataset(user_id, app_id, request.dataset_id)
        return service_pb2.SingleDatasetResponse(
            status=convert.ok_status(), dataset=_dataset_pb(record, user_id, app_id)
        )

    def _dataset(self, user_id: str, app_id: str, dataset_id: str) -> DatasetRecord:
        record = self._registry.get_dataset(user_id, app_id, dataset_id)
        if record is None:
            raise ResourceNotFound(f"Dataset {dataset_id!r} does not exist in {user_id}/{app_id}.")
        return record

    async def DeleteDatasets(
        self, request: service_pb2.DeleteDatasetsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        user_id, app_id = self._writable(request, caller)
        try:
            ids = bounded_ids(request.dataset_ids, "dataset")
            files = self._registry.delete_datasets(user_id, app_id, ids)
        except KeyError as missing:
            raise ResourceNotFound(
                f"Dataset {missing.args[0]!r} does not exist in {user_id}/{app_id}; "
                "nothing was deleted."
            ) from None
        self._versions.remove_files(files)
        return done()

    async def PostDatasetInputs(
        self, request: service_pb2.PostDatasetInputsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetInputResponse:
        user_id, app_id = self._writable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        ids = [d.input.id for d in request.dataset_inputs]
        if not 1 <= len(ids) <= MAX_INPUTS_PER_REQUEST or not all(ids):
            raise InvalidRequest(
                f"PostDatasetInputs takes 1 to {MAX_INPUTS_PER_REQUEST} dataset_inputs, each "
                "naming an input id of the app."
            )
        missing = self._registry.add_dataset_inputs(user_id, app_id, request.dataset_id, ids)
        if missing:
            raise ResourceNotFound(
                f"These inputs do not exist in {user_id}/{app_id}: {', '.join(missing)}; "
                "nothing was added."
            )
        records = self._registry.list_inputs(user_id, app_id, ids=ids)
        return service_pb2.MultiDatasetInputResponse(
            status=convert.ok_status(),
            dataset_inputs=[resources_pb2.DatasetInput(input=input_pb(r)) for r in records],
        )

    async def ListDatasetInputs(
        self, request: service_pb2.ListDatasetInputsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetInputResponse:
        user_id, app_id = self._readable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        page = Page(request.page, request.per_page)
        records = self._registry.list_dataset_inputs(
            user_id, app_id, request.dataset_id, page.offset, page.limit
        )
        return service_pb2.MultiDatasetInputResponse(
            status=convert.ok_status(),
            dataset_inputs=[
                resources_pb2.DatasetInput(input=pb, created_at=convert.timestamp(r.created_at))
                for r, pb in zip(records, await inputs_pb(records), strict=True)
            ],
        )

    async def DeleteDatasetInputs(
        self, request: service_pb2.DeleteDatasetInputsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        user_id, app_id = self._writable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        ids = bounded_ids(request.input_ids, "input")
        self._registry.remove_dataset_inputs(user_id, app_id, request.dataset_id, ids)
        return done()

    # dataset versions ----------------------------------------------------------------

    async def PostDatasetVersions(
        self, request: service_pb2.PostDatasetVersionsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetVersionResponse:
        user_id, app_id = self._writable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        wanted = list(request.dataset_versions) or [resources_pb2.DatasetVersion()]
        if len(wanted) > 1:
            raise InvalidRequest("PostDatasetVersions creates one version at a time.")
        bounded_text(
            wanted[0].description, "A dataset version's description", MAX_VERSION_DESCRIPTION
        )
        # Linking up to MAX_VERSION_INPUTS files and writing the snapshot: off the event loop.
        record = await asyncio.to_thread(
            self._versions.create, user_id, app_id, request.dataset_id, wanted[0].description
        )
        return service_pb2.MultiDatasetVersionResponse(
            status=convert.ok_status(), dataset_versions=[_version_pb(record, user_id, app_id)]
        )

    async def ListDatasetVersions(
        self, request: service_pb2.ListDatasetVersionsRequest, caller: Caller
    ) -> service_pb2.MultiDatasetVersionResponse:
        user_id, app_id = self._readable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        page = Page(request.page, request.per_page)
        records = self._registry.list_dataset_versions(
            user_id, app_id, request.dataset_id, page.offset, page.limit
        )
        return service_pb2.MultiDatasetVersionResponse(
            status=convert.ok_status(),
            dataset_versions=[_version_pb(r, user_id, app_id) for r in records],
        )

    async def GetDatasetVersion(
        self, request: service_pb2.GetDatasetVersionRequest, caller: Caller
    ) -> service_pb2.SingleDatasetVersionResponse:
        user_id, app_id = self._readable(request, caller)
        record = self._registry.get_dataset_version(user_id, app_id, request.dataset_version_id)
        if record is None or record.dataset_id != request.dataset_id:
            raise ResourceNotFound(
                f"Dataset {request.dataset_id!r} of {user_id}/{app_id} has no version "
                f"{request.dataset_version_id!r}."
            )
        return service_pb2.SingleDatasetVersionResponse(
            status=convert.ok_status(), dataset_version=_version_pb(record, user_id, app_id)
        )

    async def DeleteDatasetVersions(
        self, request: service_pb2.DeleteDatasetVersionsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        user_id, app_id = self._writable(request, caller)
        self._dataset(user_id, app_id, request.dataset_id)
        ids = bounded_ids(request.dataset_version_ids, "dataset version")
        files = self._registry.delete_dataset_versions(user_id, app_id, request.dataset_id, ids)
        self._versions.remove_files(files)
        return done()


def _check_id(kind: str, value: str) -> None:
    if not value or len(value) > MAX_ID_LENGTH or "/" in value:
        raise InvalidRequest(
            f"Each {kind} needs an id of 1 to {MAX_ID_LENGTH} characters without '/', "
            f"got {value!r}."
        )


def _concept_records(concepts: Any) -> list[Concept]:
    if not 1 <= len(concepts) <= MAX_CONCEPTS_PER_REQUEST:
        raise InvalidRequest(
            f"Send 1 to {MAX_CONCEPTS_PER_REQUEST} concepts per request, got {len(concepts)}."
        )
    records = {}
    for concept in concepts:
        _check_id("concept", concept.id)
        records[concept.id] = Concept(concept.id, (concept.name or concept.id)[:256])
    return list(records.values())


def _concept_pb(concept: Concept, app_id: str) -> resources_pb2.Concept:
    return resources_pb2.Concept(id=concept.id, name=concept.name, value=1.0, app_id=app_id)


def _dataset_pb(record: DatasetRecord, user_id: str, app_id: str) -> resources_pb2.Dataset:
    dataset = resources_pb2.Dataset(
        id=record.dataset_id, app_id=app_id, user_id=user_id, description=record.description
    )
    dataset.created_at.CopyFrom(convert.timestamp(record.created_at))
    dataset.metadata.update({"input_count": record.input_count})
    return dataset


def _version_pb(
    record: DatasetVersionRecord, user_id: str, app_id: str
) -> resources_pb2.DatasetVersion:
    version = resources_pb2.DatasetVersion(
        id=record.id, app_id=app_id, user_id=user_id, dataset_id=record.dataset_id,
        description=record.description,
    )  # fmt: skip
    version.created_at.CopyFrom(convert.timestamp(record.created_at))
    version.status.code = 64015  # DATASET_VERSION_READY: frozen when created
    version.status.description = "Dataset version is ready"
    labelled = [r for r in record.snapshot if any(v >= 0.5 for v in r.concepts.values())]
    version.metrics["/"].inputs_count.value = len(record.snapshot)
    version.metrics["/"].unlabeled_inputs_count.value = len(record.snapshot) - len(labelled)
    version.metrics["/"].positive_input_tags_count.value = sum(
        1 for r in record.snapshot for v in r.concepts.values() if v >= 0.5
    )
    return version
