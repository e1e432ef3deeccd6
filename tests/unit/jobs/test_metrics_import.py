"""Only ``ferry serve`` pays for the Prometheus client (~60 ms to import): the CLI and the workers
record into ``NoMetrics`` and never import it."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import ferry.cli.main, ferry.cli.policies, ferry.jobs.service, ferry.jobs.dispatcher, ferry.jobs.context
loaded = sorted(name for name in sys.modules if name.startswith("prometheus_client"))
print(",".join(loaded))
"""


def test_the_cli_and_the_workers_do_not_import_the_prometheus_client() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_the_check_sees_the_client_once_serve_is_loaded() -> None:
    check = "import sys, ferry.server; print('prometheus_client' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"
