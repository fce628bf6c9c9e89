"""Which Ray Serve application serves a model version.

Pure values (no Ray import), so they are checked without a cluster:

- a version is its own application, named after its version id;
- except a head on a base embedder (a trained concept model: its spec pins the embedder's
  version, runner and spec as ``base_version_id``, ``base_runner``, ``base_spec``), which is
  served by the heads application of that embedder, ``<base version id>-heads``, shared by
  every head on it and multiplexed by the head's version id; the embedder's own application
  is deployed too, and the heads call it.

    app = application_of(version)        # what to deploy and call for ``version``
    base = base_embedder(version)        # None, or the embedder its head calls
    apps = applications(wanted)          # what the reconciler runs for the wanted versions
"""

from __future__ import annotations

from collections.abc import Sequence

from clarion.runtime.backend import Deployment

#: The runner of a heads application (no runner family: it holds heads, not runners).
HEADS = "concept-heads"
#: How a heads application's name ends, after its base embedder's version id.
HEADS_SUFFIX = "-heads"


def base_embedder(version: Deployment) -> Deployment | None:
    """The base embedder version that ``version``'s head sits on, from the runner and spec
    its spec pins; None for a version that is not a head on a base."""
    spec = version.spec
    if "base_spec" not in spec:
        return None
    return Deployment(
        spec["base_model"], spec["base_version_id"], spec["base_runner"], dict(spec["base_spec"])
    )


def heads_application(base: Deployment) -> Deployment:
    """The application of the heads on ``base``, as the backend deploys it: its
    ``version_id`` is the application's name, its spec names the embedder's application."""
    return Deployment(
        base.model_id, base.version_id + HEADS_SUFFIX, HEADS, {"base_application": base.version_id}
    )


def application_of(version: Deployment) -> Deployment:
    """What is deployed (and called) to serve ``version``: its base embedder's heads
    application for a head on a base, else the version itself."""
    base = base_embedder(version)
    return version if base is None else heads_application(base)


def applications(wanted: Sequence[Deployment]) -> list[Deployment]:
    """The applications that serve ``wanted``, each once, in deploy order: a version is its
    own; a head on a base needs its embedder's and the heads application on it. An embedder
    that is itself wanted keeps its own scaling settings; one needed only by heads has its
    family's defaults."""
    found = {version.version_id: version for version in wanted if base_embedder(version) is None}
    for version in wanted:
        base = base_embedder(version)
        if base is not None:
            found.setdefault(base.version_id, base)
            heads = heads_application(base)
            found.setdefault(heads.version_id, heads)
    return list(found.values())
