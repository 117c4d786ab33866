"""RELIABILITY T11: schemathesis against every service's and the gateway's OpenAPI document.

Each service runs as its own process (as `make run` starts it) on a fresh PostgreSQL
database and the test broker; the schemathesis CLI drives it over loopback with a
district admin's token (every service trusts the test mint) and a fixed seed. CI runs a
bounded run — the examples and coverage phases (schema-derived boundary and negative
cases, deterministic), 15 examples per operation (``HEEMANG_FUZZ_EXAMPLES``) — so the
suite stays within its budget and a red CI means a real regression; ``make fuzz`` runs the
full T11 set (200 per operation, every phase) and writes JUnit reports under var/fuzz/.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from heemang_common.broker import free_port, set_parent_death_signal
from heemang_common.testing import TEST_MINT, DatabaseFactory

SERVICES = ("intake", "casework", "resources", "hotline", "gateway")
SEED = 20261123
CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,negative_data_rejection,"
    "ignored_auth,use_after_free,ensure_resource_availability,content_type_conformance"
)
REPORTS = Path("var/fuzz")


def examples() -> int:
    return int(os.environ.get("HEEMANG_FUZZ_EXAMPLES", "15"))


def phases() -> str:
    return os.environ.get("HEEMANG_FUZZ_PHASES", "examples,coverage")


def _wait_healthy(url: str, child: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{url}: the service exited with {child.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy")


@pytest.fixture(scope="module")
async def database_urls(databases: DatabaseFactory) -> dict[str, str]:
    from tests.conftest import service_parts

    return {name: await databases.fresh_database(name, service_parts(name)[2]) for name in SERVICES}


@pytest.fixture(scope="module")
def services(
    database_urls: dict[str, str], bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    children: list[subprocess.Popen[bytes]] = []
    logs = tmp_path_factory.mktemp("fuzz-logs")
    try:
        for name in SERVICES:
            port, prefix = free_port(), name.upper()
            env = {
                **os.environ,
                f"{prefix}_DATABASE_URL": database_urls[name],
                f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                f"{prefix}_PORT": str(port),
                f"{prefix}_HOST": "127.0.0.1",
                "HEEMANG_ENV": "test",
                "LOG_LEVEL": "WARNING",
                "AUTH_JWKS": TEST_MINT.jwks_json(),
                "GATEWAY_RATE_LIMIT_PER_MINUTE": "1000000",
            }
            if name == "gateway":
                env.update({f"GATEWAY_{n.upper()}_URL": url for n, url in urls.items()})
            script = Path(sys.executable).with_name(f"heemang-{name}")
            log = (logs / f"{name}.log").open("wb")
            child = subprocess.Popen(
                [str(script), "serve"], env=env, stdout=log, stderr=log, preexec_fn=set_parent_death_signal
            )
            children.append(child)
            urls[name] = f"http://127.0.0.1:{port}"
            _wait_healthy(urls[name], child)
        yield urls
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis(service: str, services: dict[str, str]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    token = TEST_MINT.token("district_admin", ttl_s=3600, clearances=["restricted", "rrn_reveal", "export"])
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{services[service]}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        phases(),
        "--max-examples",
        str(examples()),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        "X-Export-Reason: schemathesis run",
        "--exclude-path-regex",
        r"^/(ops|metrics|healthz|readyz)",
        "--report",
        "junit",
        "--report-dir",
        str(REPORTS / service),
        "--suppress-health-check",
        "all",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
