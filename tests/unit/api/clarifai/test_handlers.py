"""The one not-implemented check of the Clarifai RPCs, shared by both transports."""

from __future__ import annotations

import pytest

from clarion.core import Core
from clarion.errors import NotImplementedFeature
from clarion.rpcs import RPCS


def test_every_implemented_rpc_has_its_handler(core: Core) -> None:
    for name in ("GetUser", "PostModelOutputs", "GenerateModelOutputs", "PostInputs"):
        assert callable(core.handlers.implementation(name)), name


@pytest.mark.parametrize("name", ["ListWorkflows", "StreamModelOutputs", "PostModelVersionsUpload"])
def test_an_rpc_without_a_handler_is_not_implemented(core: Core, name: str) -> None:
    with pytest.raises(NotImplementedFeature) as info:
        core.handlers.implementation(name)
    assert info.value.details == f"{name} is not implemented by Clarion."
    assert info.value.http_status == 501


def test_no_rpc_that_streams_its_requests_in_is_implemented(core: Core) -> None:
    for name in (n for n, rpc in RPCS.items() if rpc.client_streaming):
        with pytest.raises(NotImplementedFeature):
            core.handlers.implementation(name)
