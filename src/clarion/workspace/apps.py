"""Apps: a user's named workspaces, each holding inputs, datasets and custom models.

A user sees and changes only their own apps; ``clarion/main`` is read-only to everyone
(:class:`ModelDirectory` says who may do what).
"""

from __future__ import annotations

from clarion.auth import Principal
from clarion.directory import ModelDirectory
from clarion.domain.workspace import App
from clarion.errors import InvalidRequest, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.workspace.bounds import MAX_APP_DESCRIPTION, bounded_text
from clarion.workspace.models import ModelService
from clarion.workspace.version_files import VersionFiles

MAX_APP_ID_LENGTH = 64


class AppService:
    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        models: ModelService,
        version_files: VersionFiles,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._models = models
        self._version_files = version_files

    def create_app(self, principal: Principal, app_id: str, description: str = "") -> App:
        user_id = principal.user_id
        if not app_id:
            raise InvalidRequest("Each app needs an id.")
        bounded_text(app_id, "An app id", MAX_APP_ID_LENGTH)
        bounded_text(description, "An app's description", MAX_APP_DESCRIPTION)
        if self._registry.app_exists(user_id, app_id):
            raise InvalidRequest(f"App {user_id}/{app_id} already exists.")
        self._registry.ensure_app(user_id, app_id, description=description)
        return self._app(user_id, app_id)

    def list_apps(self, principal: Principal, page: Page) -> list[App]:
        return self._registry.list_apps(principal.user_id, page.offset, page.limit)

    def get_app(self, principal: Principal, user_id: str, app_id: str) -> App:
        return self._app(*self._directory.readable_app(principal, user_id, app_id))

    def delete_app(self, principal: Principal, user_id: str, app_id: str) -> None:
        """Delete an app with everything in it: inputs, datasets, models and versions."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        files, versions = self._registry.delete_app(user_id, app_id)
        self._version_files.remove(files)
        self._models.forget(versions)

    def _app(self, user_id: str, app_id: str) -> App:
        app = self._registry.get_app(user_id, app_id)
        if app is None:
            raise ResourceNotFound(f"App {user_id}/{app_id} does not exist.")
        return app
