"""Which Ray Serve application serves a model version.

Pure values (no Ray import), so they are checked without a cluster:

- a version of most families is its own application, named after its version id;
- a trained concept model (family ``embedding-classifier``, a head on a base embedder whose
  runner and spec its own spec pins) is served by the heads application of that embedder,
  ``<base version id>-heads``, shared by every head on it and multiplexed by the concept
  version's id; the embedder's own application is deployed too, and the heads call it.

    app = application_of(version)        # what to deploy and call for ``version``
    base = base_embedder(version)        # None, or the embedder the heads call
"""

from __future__ import annotations

from clarion.runtime.backend import Deployment

#: The runner family of trained concept models.
CONCEPT_FAMILY = "embedding-classifier"
#: The runner of a heads application (it is no runner family: it holds no runner).
HEADS = "concept-heads"
#: How a heads application's name ends, after its base embedder's version id.
HEADS_SUFFIX = "-heads"


def base_embedder(version: Deployment) -> Deployment | None:
    """The base embedder version a trained concept model's head sits on, from the runner and
    spec its own spec pins; None for a version of any other family."""
    if version.runner != CONCEPT_FAMILY:
        return None
    spec = version.spec
    return Deployment(
        spec["base_model"], spec["base_version_id"], spec["base_runner"], dict(spec["base_spec"])
    )


def heads_application(base: Deployment) -> Deployment:
    """The application of the trained heads on ``base``, as the backend deploys it: its
    ``version_id`` is the application's name, its spec names the embedder's application."""
    return Deployment(
        base.model_id, base.version_id + HEADS_SUFFIX, HEADS, {"base_application": base.version_id}
    )


def application_of(version: Deployment) -> Deployment:
    """What is deployed (and called) to serve ``version``: the heads application of its base
    embedder for a trained concept model, else the version itself."""
    base = base_embedder(version)
    return version if base is None else heads_application(base)
