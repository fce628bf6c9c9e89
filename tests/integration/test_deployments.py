"""`clarion models deploy` and the deployment RPCs through a real server."""

from __future__ import annotations

import grpc
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from click.testing import CliRunner

from clarion.cli.main import cli
from clarion.client import Model
from clarion.client.channel import V2Client
from clarion.server_thread import ServerThread

pytestmark = pytest.mark.slow


def test_deploy_sets_a_built_in_version_s_scaling_and_the_sdk_reads_it(
    server: ServerThread,
) -> None:
    result = CliRunner().invoke(
        cli,
        ["models", "deploy", "all-minilm-l6-v2", "--min-replicas", "0", "--max-replicas", "4",
         "--max-queued-requests", "500", "--scale-to-zero-delay-seconds", "120",
         "--base-url", server.grpc_url, "--pat", server.pat],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "min_replicas=0 max_replicas=4" in result.output
    assert "max_queued_requests=500" in result.output
    with Model(model_id="all-minilm-l6-v2", pat=server.pat, base_url=server.grpc_url) as model:
        deployment = model.deployment()
        assert deployment.id == model.load_info().model_version.id
    assert deployment.autoscale_config.max_replicas == 4
    assert deployment.autoscale_config.scale_to_zero_delay_seconds == 120
    assert deployment.metadata["max_queued_requests"] == 500


def test_a_bad_value_is_refused_by_the_cli_and_by_the_server(server: ServerThread) -> None:
    result = CliRunner().invoke(
        cli,
        ["models", "deploy", "all-minilm-l6-v2", "--min-replicas", "3", "--max-replicas", "2",
         "--base-url", server.grpc_url, "--pat", server.pat],
    )  # fmt: skip
    assert result.exit_code == 2 and "--min-replicas" in result.output
    bad = resources_pb2.Deployment(
        autoscale_config=resources_pb2.AutoscaleConfig(min_replicas=1, max_replicas=100),
        worker=resources_pb2.Worker(
            model=resources_pb2.Model(id="all-minilm-l6-v2", user_id="clarion", app_id="main")
        ),
    )
    with grpc.insecure_channel(server.grpc_url.removeprefix("http://")) as channel:
        answer = V2Client(channel).PostDeployments(
            service_pb2.PostDeploymentsRequest(deployments=[bad]),
            metadata=(("authorization", f"Key {server.pat}"),),
        )
    assert answer.status.code == 21202 and "max_replicas" in answer.status.details
