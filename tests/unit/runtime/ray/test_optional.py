"""Ray is optional: one process (no Ray address) never imports it."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_and_cli_import_no_ray_without_an_address() -> None:
    code = (
        "import sys, clarion.core, clarion.server, clarion.cli.main; "
        "import clarion.runtime.ray.options, clarion.runtime.ray.routes, clarion.runtime.ray.plan; "
        "import clarion.runtime.ray.failures; "
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
