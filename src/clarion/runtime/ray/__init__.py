"""The Ray Serve backend: model versions as Serve deployments on a Ray cluster.

Its modules that talk to Ray are imported only when ``CLARION_RAY_ADDRESS`` is set (they
need ``clarion[ray]``); :mod:`~clarion.runtime.ray.options`,
:mod:`~clarion.runtime.ray.routes`, :mod:`~clarion.runtime.ray.plan`,
:mod:`~clarion.runtime.ray.coalesce` and :mod:`~clarion.runtime.ray.failures` need no Ray:

- :mod:`~clarion.runtime.ray.cluster`: joining the cluster, Serve without its proxies;
- :mod:`~clarion.runtime.ray.routes`: which application serves a version (its own, or the
  shared heads application of its base embedder);
- :mod:`~clarion.runtime.ray.options`: a version's deployment options from its family and
  :class:`ScalingSettings`;
- :mod:`~clarion.runtime.ray.replica`: :class:`ModelReplica`, the deployment class, one
  version served by a :class:`LocalBackend` inside the replica;
- :mod:`~clarion.runtime.ray.heads`: :class:`HeadsReplica`, the deployment class of the
  heads on one base embedder, multiplexed by version id, embedding through the embedder's;
- :mod:`~clarion.runtime.ray.coalesce`: :class:`Coalescer`, requests that arrive while a
  call is in transit share the next call (no Ray);
- :mod:`~clarion.runtime.ray.errors`: Ray's exceptions as Clarion errors, and the load
  wait of a request no replica takes (scaled to zero);
- :mod:`~clarion.runtime.ray.plan`: what one reconcile pass deploys and deletes (no Ray);
- :mod:`~clarion.runtime.ray.failures`: failed deploys and their back-off (no Ray);
- :mod:`~clarion.runtime.ray.reconciler`: :class:`Reconciler`, the elected front end's loop
  that makes the cluster match the demand, and the ``Demand`` and ``Election`` it uses;
- :mod:`~clarion.runtime.ray.backend`: :class:`RayBackend`, the :class:`Backend`: records
  demand and waits for applications, never deploys itself.
"""

import os

# A front end only ever joins the configured cluster: a Ray call after it left (a handle's
# background thread) must fail, not start a Ray instance of its own on this host. Ray reads
# this when it is first imported.
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
