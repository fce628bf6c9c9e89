"""Serving runtime: the runner contract, the backend interface and its local implementation.

- :mod:`~clarion.runtime.runner`: the contract each model family implements;
- :mod:`~clarion.runtime.backend`: :class:`Backend`, what the service, training and
  preloading call, and :class:`Deployment`, the model version it serves;
- :mod:`~clarion.runtime.local`: :class:`LocalBackend`, runners in this process, composed of
  residency (loading, idle and LRU unloading), admission, model threads, the dynamic batcher
  and the stream bridge;
- :mod:`~clarion.runtime.observer`: what the runtime reports (to metrics).
"""

from clarion.runtime.backend import Backend, Deployment, Params
from clarion.runtime.local import LocalBackend
from clarion.runtime.observer import NoObserver, RuntimeObserver
from clarion.runtime.runner import Runner, RunnerFactory

__all__ = [
    "Backend",
    "Deployment",
    "LocalBackend",
    "NoObserver",
    "Params",
    "Runner",
    "RunnerFactory",
    "RuntimeObserver",
]
