"""Serving runtime: the runner contract and the pool that loads and calls runners."""

from clarion.runtime.pool import RunnerPool
from clarion.runtime.runner import Runner, RunnerFactory

__all__ = ["Runner", "RunnerFactory", "RunnerPool"]
