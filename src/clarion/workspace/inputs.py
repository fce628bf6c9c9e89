"""Stored inputs: an app's texts and images with their labels and metadata.

Inputs are decoded by the one :class:`InputDecoder`, with the rules and size limits of
predictions, before anything is stored; an input's image bytes are written before its row and
removed again when the row is not written, so nothing is half stored.

    inputs = InputService(registry, directory, decoder, files)
    stored = await inputs.add_inputs(principal, "me", "news", [NewInput(RawInput(text="Hi"))])
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from clarion.auth import Principal
from clarion.directory import ModelDirectory
from clarion.domain.values import Concept, InputKind, RawInput
from clarion.domain.workspace import InputPatch, InputsAddJob, NewInput, PatchAction, StoredInput
from clarion.errors import InputError, InvalidParameter, InvalidRequest, ResourceNotFound
from clarion.input_files import InputFiles
from clarion.inputs import InputDecoder
from clarion.registry import Page, Registry
from clarion.workspace.bounds import (
    MAX_ID_LENGTH,
    MAX_INPUTS_PER_REQUEST,
    MAX_NAME_LENGTH,
    bounded_ids,
    bounded_text,
)

MAX_METADATA_BYTES = 16 * 1024
MAX_JOB_ID_LENGTH = 128


class InputService:
    """An app's stored inputs, on behalf of a principal."""

    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        decoder: InputDecoder,
        files: InputFiles,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._decoder = decoder
        self._files = files

    async def add_inputs(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        inputs: Sequence[NewInput],
        job_id: str = "",
    ) -> list[StoredInput]:
        """Store the inputs, all or none. ``job_id`` (an inputs add job) counts them, as
        stored or as failed."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        bounded_text(job_id, "inputs_add_job_id", MAX_JOB_ID_LENGTH)
        try:
            stored = await self._store_inputs(user_id, app_id, inputs)
        except BaseException:
            if job_id:
                self._registry.record_input_job(user_id, app_id, job_id, 0, len(inputs))
            raise
        if job_id:
            self._registry.record_input_job(user_id, app_id, job_id, len(stored), 0)
        return stored

    async def _store_inputs(
        self, user_id: str, app_id: str, inputs: Sequence[NewInput]
    ) -> list[StoredInput]:
        if not 1 <= len(inputs) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PostInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(inputs)}."
            )
        ids = [i.raw.id for i in inputs if i.raw.id]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise InvalidRequest(f"Input ids repeat in the request: {', '.join(repeated)}.")
        stored: list[StoredInput] = []
        written: list[str] = []
        try:
            for item in inputs:
                record, data = await self._stored_input(user_id, app_id, item)
                if data is not None and record.file is not None:
                    self._files.write(self._files.path_for(user_id, app_id, record.input_id), data)
                    written.append(record.file)
                stored.append(record)
            existing = self._registry.add_inputs(
                user_id, app_id, stored, _given_names(c for i in inputs for c in i.labels)
            )
        except KeyError as missing:
            self._files.remove(written)
            raise InvalidRequest(
                f"No dataset {missing.args[0]} in {user_id}/{app_id}; create it with "
                "PostDatasets first. Nothing was stored."
            ) from None
        except BaseException:
            self._files.remove(written)
            raise
        if existing:
            self._files.remove(written)
            raise InvalidRequest(
                f"Inputs with these ids already exist: {', '.join(existing)}. Nothing was stored."
            )
        return stored

    async def _stored_input(
        self, user_id: str, app_id: str, item: NewInput
    ) -> tuple[StoredInput, bytes | None]:
        """The input as it will be stored, and the image bytes to write for it."""
        input_id = item.raw.id or uuid.uuid4().hex
        if len(input_id) > MAX_ID_LENGTH or "/" in input_id:
            raise InvalidRequest(
                f"Input ids are 1 to {MAX_ID_LENGTH} characters without '/', "
                f"got {input_id[:140]!r}."
            )
        concepts = _labels(input_id, item.labels)
        metadata = _bounded_metadata(input_id, item.metadata)
        raw = replace(item.raw, id=input_id)
        now = datetime.now(UTC)
        try:
            if raw.image_bytes or raw.image_url:
                # An image input's text, if any, is not kept.
                data = await self._decoder.image_bytes(raw)
                # Refuse what could not be used: decoded as for a prediction, then dropped.
                await self._decoder.decode(RawInput(input_id, image_bytes=data), InputKind.IMAGE)
                path = str(self._files.path_for(user_id, app_id, input_id))
                image = StoredInput(
                    input_id, InputKind.IMAGE, None, path, concepts, now, metadata,
                    item.dataset_ids,
                )  # fmt: skip
                return image, data
            decoded = await self._decoder.decode(raw, InputKind.TEXT)
        except InputError as exc:
            raise type(exc)(f"Input {input_id}: {exc.details}") from exc
        text = StoredInput(
            input_id, InputKind.TEXT, decoded.text, None, concepts, now, metadata,
            item.dataset_ids,
        )  # fmt: skip
        return text, None

    def list_inputs(
        self, principal: Principal, user_id: str, app_id: str, page: Page, ids: Sequence[str] = ()
    ) -> list[StoredInput]:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.list_inputs(user_id, app_id, page.offset, page.limit, ids=ids)

    def get_input(
        self, principal: Principal, user_id: str, app_id: str, input_id: str
    ) -> StoredInput:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        found = self._registry.list_inputs(user_id, app_id, ids=[input_id])
        if not found:
            raise ResourceNotFound(f"Input {input_id!r} does not exist.")
        return found[0]

    def delete_inputs(
        self, principal: Principal, user_id: str, app_id: str, ids: Sequence[str]
    ) -> None:
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        ids = bounded_ids(ids, "input")
        self._files.remove(self._registry.delete_inputs(user_id, app_id, ids))

    def patch_inputs(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        patches: Sequence[InputPatch],
        action: str = "",
    ) -> list[StoredInput]:
        """Change inputs' labels and metadata, all or none (``action``: merge, the default,
        overwrite or remove; see :meth:`InputPatch.applied`)."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        how = PatchAction.named(action)
        if how is None:
            raise InvalidRequest(f"action must be merge, overwrite or remove, got {action!r}.")
        if not 1 <= len(patches) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PatchInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(patches)}."
            )
        for patch in patches:
            if not patch.input_id:
                raise InvalidRequest("Each input to patch needs its id.")
            _labels(patch.input_id, patch.labels)
            _bounded_metadata(patch.input_id, patch.metadata)
        names = _given_names(c for p in patches for c in p.labels)
        try:
            return self._registry.patch_inputs(user_id, app_id, patches, how, names)
        except KeyError as missing:
            raise ResourceNotFound(
                f"These inputs do not exist in {user_id}/{app_id}: {missing.args[0]}; "
                "nothing was changed."
            ) from None

    def count_inputs(self, principal: Principal, user_id: str, app_id: str) -> int:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.count_inputs(user_id, app_id)

    def input_job(
        self, principal: Principal, user_id: str, app_id: str, job_id: str
    ) -> InputsAddJob:
        """Inputs are stored before PostInputs answers, so a known job is always finished."""
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        job = self._registry.input_job(user_id, app_id, job_id)
        if job is None:
            raise ResourceNotFound(
                f"No inputs add job {job_id!r} in {user_id}/{app_id}; jobs are named by "
                "PostInputs' inputs_add_job_id."
            )
        return job


def _labels(input_id: str, labels: Iterable[Concept]) -> dict[str, float]:
    """An input's labels by concept id; each is 1 (positive) or 0 (negative)."""
    found = {}
    for concept in labels:
        if not concept.id or len(concept.id) > MAX_ID_LENGTH:
            raise InvalidParameter(
                f"Input {input_id}: every concept needs an id of 1 to {MAX_ID_LENGTH} characters."
            )
        if len(concept.name) > MAX_NAME_LENGTH:
            raise InvalidParameter(
                f"Input {input_id}: concept {concept.id}'s name is {len(concept.name)} "
                f"characters; the limit is {MAX_NAME_LENGTH}."
            )
        if concept.value not in (0.0, 1.0):
            raise InvalidParameter(
                f"Input {input_id}: concept values must be 1 or 0, got {concept.value:g}."
            )
        found[concept.id] = float(concept.value)
    return found


def _given_names(labels: Iterable[Concept]) -> dict[str, str]:
    """The names given with labels (a concept labelled without one is named by its id)."""
    return {c.id: c.name for c in labels if c.name}


def _bounded_metadata(input_id: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"Input {input_id}: metadata is over {MAX_METADATA_BYTES} bytes as JSON."
        )
    return dict(metadata)
