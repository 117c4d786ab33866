"""The deployment files agree with the code they deploy.

docker-compose.yml, deploy/k8s/*.yaml, deploy/kafka/topics.yaml, deploy/postgres/ and the
Dockerfile name ports, environment variables, probe paths, console scripts, databases and
topics that the services define in Python. These tests read both sides and fail, with the
file and the service in the message, when they drift apart:

- services: every service is built in compose and deployed in k8s, from services/<svc>/;
- ports: compose and k8s use each service's ``Settings.default_port``;
- environment: every variable set is one the service's Settings reads (``env_names``), and
  the resulting environment builds a valid production Settings;
- probes: paths are known probe paths, liveness -> /healthz, readiness -> /readyz;
- images and commands: Dockerfile ARG SERVICE, non-root final USER, console scripts declared;
- databases: the Postgres init creates one database per service, each DATABASE_URL uses its own;
- topics: topics.yaml is the event catalogue plus a .dlq per topic, and create-topics.sh
  creates exactly that.

The two shell scripts (create-topics.sh, init-databases.sh) are run with stub
kafka-topics.sh / psql commands that record what they were asked to do.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
K8S_DIR = REPO / "deploy" / "k8s"
TOPICS_FILE = REPO / "deploy" / "kafka" / "topics.yaml"
CREATE_TOPICS_SCRIPT = REPO / "deploy" / "kafka" / "create-topics.sh"
POSTGRES_INIT = REPO / "deploy" / "postgres" / "init-databases.sh"

SERVICES = ("gateway", "intake", "casework", "resources", "hotline")
#: Paths every service's app serves (the app factory in heemang_common.http).
KNOWN_PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
#: Subcommands of every `heemang-<svc>` console script.
CLI_SUBCOMMANDS = frozenset({"serve", "migrate", "replay"})
#: Used only while heemang_common.events.catalogue.all_topics() does not exist yet.
FALLBACK_TOPICS = (
    "heemang.intake.referral",
    "heemang.intake.household",
    "heemang.casework.case",
    "heemang.casework.conference",
    "heemang.resources.donation",
    "heemang.resources.allocation",
    "heemang.resources.voucher",
    "heemang.resources.campaign",
    "heemang.hotline.consultation",
    "heemang.hotline.referral",
    "heemang.hotline.checkin",
    "heemang.hotline.sms",
    "heemang.audit.access",
)
DLQ_SUFFIX = ".dlq"
DAY_MS = 24 * 60 * 60 * 1000
DOMAIN_TOPIC = {"partitions": 12, "retention.ms": 7 * DAY_MS, "cleanup.policy": "delete"}
DLQ_TOPIC = {"partitions": 3, "retention.ms": 30 * DAY_MS, "cleanup.policy": "delete"}
NON_ROOT_UID = 10001


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last one
    silently; kubectl and compose do not). Keys brought in by a ``<<`` merge may be overridden.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=StrictLoader)


def load_yaml_documents(path: Path) -> list[Any]:
    return list(yaml.load_all(path.read_text(), Loader=StrictLoader))


# ----------------------------------------------------------------------------- the code side


@functools.cache
def settings_cls(service: str) -> Any:
    return importlib.import_module(f"heemang_{service}.settings").Settings


@functools.cache
def allowed_env(service: str) -> frozenset[str]:
    from heemang_common.settings import env_names

    return frozenset(env_names(settings_cls(service)))


def default_port(service: str) -> int:
    port = settings_cls(service).default_port
    assert isinstance(port, int) and port > 0, f"heemang_{service} Settings.default_port={port!r}"
    return port


def prefix(service: str) -> str:
    return f"{service.upper()}_"


@functools.cache
def probe_paths() -> frozenset[str]:
    """The fixed set, narrowed to heemang_common.http.PROBE_PATHS once that exists."""
    try:
        http = importlib.import_module("heemang_common.http")
    except ImportError:
        return KNOWN_PROBE_PATHS
    declared = getattr(http, "PROBE_PATHS", None)
    if declared is None:
        return KNOWN_PROBE_PATHS
    items = [*declared, *declared.values()] if isinstance(declared, Mapping) else [*declared]
    paths = {item for item in items if isinstance(item, str) and item.startswith("/")}
    assert paths, f"heemang_common.http.PROBE_PATHS holds no paths: {declared!r}"
    return KNOWN_PROBE_PATHS & frozenset(paths)


@functools.cache
def expected_topics() -> tuple[tuple[str, ...], str]:
    """Domain topics (without .dlq) and where the list came from."""
    try:
        catalogue = importlib.import_module("heemang_common.events.catalogue")
    except ImportError:
        return FALLBACK_TOPICS, "the fallback list in this test (catalogue not importable yet)"
    all_topics = getattr(catalogue, "all_topics", None)
    if all_topics is None:
        return FALLBACK_TOPICS, "the fallback list in this test (catalogue has no all_topics())"
    topics = tuple(all_topics())
    assert topics, "heemang_common.events.catalogue.all_topics() returned no topics"
    assert not [t for t in topics if t.endswith(DLQ_SUFFIX)], "all_topics() must not list DLQs"
    return topics, "heemang_common.events.catalogue.all_topics()"


@functools.cache
def console_scripts(service: str) -> dict[str, str]:
    pyproject = REPO / "services" / service / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())
    return dict(data.get("project", {}).get("scripts", {}))


def build_settings(service: str, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings exactly as the container would build them from ``env`` (no .env file)."""
    for name in allowed_env(service):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_cls(service)(_env_file=None)


def check_settings(service: str, settings: Any, where: str) -> None:
    assert settings.environment == "production", f"{where}: HEEMANG_ENV is not production"
    assert settings.host == "0.0.0.0", f"{where}: {prefix(service)}HOST must be 0.0.0.0"
    assert settings.port == default_port(service), f"{where}: port {settings.port}"
    assert settings.kafka_enable_idempotence is True, (
        f"{where}: {prefix(service)}KAFKA_ENABLE_IDEMPOTENCE must be true on real Kafka"
    )
    assert settings.kafka_bootstrap_servers, f"{where}: KAFKA_BOOTSTRAP_SERVERS is empty"
    assert settings.database_url.startswith("postgresql+asyncpg://"), (
        f"{where}: DATABASE_URL {settings.database_url!r} is not postgresql+asyncpg"
    )


def check_command(service: str, command: str, where: str) -> list[str]:
    """The `heemang-<x> <sub>` calls in a command: the right service, declared, known."""
    calls = re.findall(r"\b(heemang-[a-z]+)(?:\s+([a-z-]+))?", command)
    assert calls, f"{where}: no heemang-<svc> console script in {command!r}"
    subcommands = []
    for script, sub in calls:
        assert script == f"heemang-{service}", f"{where}: runs {script}, not heemang-{service}"
        assert script in console_scripts(service), (
            f"{where}: {script} is not in services/{service}/pyproject.toml [project.scripts]"
        )
        assert sub in CLI_SUBCOMMANDS, f"{where}: unknown subcommand {sub!r} of {script}"
        subcommands.append(sub)
    return subcommands


# ----------------------------------------------------------------------------- docker compose

_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def compose_variables(value: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (m.group("braced") or m.group("bare"), m.group("op"), m.group("arg"))
        for m in _INTERPOLATION.finditer(value)
        if m.group(0) != "$$"
    ]


def interpolate(value: Any) -> Any:
    """Compose interpolation with the defaults only: what `docker compose up` sees, no .env."""
    if isinstance(value, str):

        def replace(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            op, arg = m.group("op"), m.group("arg")
            return arg if op in (":-", "-") and arg is not None else ""

        return _INTERPOLATION.sub(replace, value)
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


@functools.cache
def compose_raw() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), "docker-compose.yml is missing"
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), (
        "docker-compose.yml has no services mapping"
    )
    return data


@functools.cache
def compose() -> dict[str, Any]:
    return interpolate(compose_raw())


def compose_env(definition: Mapping[str, Any]) -> dict[str, str]:
    env = definition.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {k: v for k, v in pairs}
    return {
        str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in env.items()
    }


def compose_apps() -> dict[str, dict[str, Any]]:
    """Compose services built from the Dockerfile, by their SERVICE build arg."""
    apps: dict[str, dict[str, Any]] = {}
    for name, definition in compose()["services"].items():
        build = definition.get("build")
        if build is None:
            continue
        assert isinstance(build, dict), f"compose {name}: build must give args (SERVICE=...)"
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", f"compose {name}: dockerfile"
        assert build.get("context", ".") in (".", "./"), f"compose {name}: context must be ."
        service = (build.get("args") or {}).get("SERVICE")
        assert service, f"compose {name}: build.args.SERVICE is not set"
        assert service not in apps, f"compose: SERVICE={service} is built twice"
        apps[service] = {"name": name, **definition}
    return apps


def compose_command(definition: Mapping[str, Any]) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        value = definition.get(key)
        if isinstance(value, list):
            parts.append(" ".join(map(str, value)))
        elif value:
            parts.append(str(value))
    return " ".join(parts)


def healthcheck_urls(definition: Mapping[str, Any]) -> list[str]:
    test = (definition.get("healthcheck") or {}).get("test", [])
    text = " ".join(test) if isinstance(test, list) else str(test)
    return re.findall(r"https?://[^\s'\"]+", text)


def container_port(entry: Any) -> int:
    if isinstance(entry, dict):
        return int(entry["target"])
    return int(str(entry).rsplit(":", 1)[-1].split("/", 1)[0])


def test_compose_builds_every_service_from_its_directory() -> None:
    apps = compose_apps()
    assert sorted(apps) == sorted(SERVICES), f"compose builds {sorted(apps)}, not {SERVICES}"
    for service, definition in apps.items():
        assert (REPO / "services" / service / "pyproject.toml").is_file(), (
            f"compose builds SERVICE={service} but services/{service}/pyproject.toml is missing"
        )
        assert definition["name"] == service, (
            f"compose service {definition['name']!r} builds {service}: name it {service!r} "
            "(its hostname is what the gateway's URLs use)"
        )


def test_compose_every_variable_has_a_default() -> None:
    """`docker compose up` works on a fresh checkout, without a .env file."""
    missing = sorted(
        {name for name, op, _ in compose_variables(COMPOSE_FILE.read_text()) if op not in (":-", "-")}
    )
    assert not missing, f"docker-compose.yml uses variables without a default: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_ports_are_the_service_port(service: str) -> None:
    definition = compose_apps()[service]
    port = default_port(service)
    where = f"compose {service}"
    args = definition["build"].get("args") or {}
    assert int(args.get("SERVICE_PORT", -1)) == port, f"{where}: build arg SERVICE_PORT != {port}"
    for entry in definition.get("ports", []):
        assert container_port(entry) == port, f"{where}: ports entry {entry!r} is not {port}"
    for entry in definition.get("expose", []):
        assert container_port(entry) == port, f"{where}: expose entry {entry!r} is not {port}"
    urls = healthcheck_urls(definition)
    assert urls, f"{where}: healthcheck calls no URL"
    for url in urls:
        assert urlsplit(url).port == port, f"{where}: healthcheck {url} is not on port {port}"
    env = compose_env(definition)
    if f"{prefix(service)}PORT" in env:
        assert int(env[f"{prefix(service)}PORT"]) == port, f"{where}: {prefix(service)}PORT"
    if service == "gateway":
        assert definition.get("ports"), "compose gateway: its port must be published"


def test_compose_gateway_upstream_urls() -> None:
    env = compose_env(compose_apps()["gateway"])
    for upstream in SERVICES:
        if upstream == "gateway":
            continue
        name = f"GATEWAY_{upstream.upper()}_URL"
        assert name in env, f"compose gateway: {name} is not set"
        url = urlsplit(env[name])
        assert url.hostname == upstream and upstream in compose()["services"], (
            f"compose gateway: {name}={env[name]} must name the compose service {upstream!r}"
        )
        assert url.port == default_port(upstream), f"compose gateway: {name} port != {upstream}'s"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_env_is_read_by_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose_env(compose_apps()[service])
    unknown = sorted(set(env) - allowed_env(service))
    assert not unknown, f"compose {service}: heemang_{service}.Settings reads none of {unknown}"
    p = prefix(service)
    required = {
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "HEEMANG_ENV",
        f"{p}HOST",
        f"{p}OPS_TOKEN",
        f"{p}KAFKA_ENABLE_IDEMPOTENCE",
    }
    assert required <= set(env), f"compose {service}: missing {sorted(required - set(env))}"
    check_settings(service, build_settings(service, env, monkeypatch), f"compose {service}")


@pytest.mark.parametrize("service", SERVICES)
def test_compose_healthcheck_is_readiness(service: str) -> None:
    for url in healthcheck_urls(compose_apps()[service]):
        path = urlsplit(url).path
        assert path in probe_paths(), f"compose {service}: {path} is not a probe path"
        assert path == READINESS_PATH, f"compose {service}: healthcheck on {path}, not /readyz"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_command_migrates_then_serves(service: str) -> None:
    definition = compose_apps()[service]
    where = f"compose {service}"
    subcommands = check_command(service, compose_command(definition), where)
    assert "migrate" in subcommands and "serve" in subcommands, f"{where}: {subcommands}"
    assert subcommands.index("migrate") < subcommands.index("serve"), (
        f"{where}: must migrate before it serves"
    )


def test_compose_start_order() -> None:
    services = compose()["services"]
    for name, definition in services.items():
        for target, spec in (definition.get("depends_on") or {}).items():
            assert target in services, f"compose {name} depends on unknown {target!r}"
            condition = spec.get("condition") if isinstance(spec, dict) else None
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), (
                    f"compose {name} waits for {target} to be healthy; {target} has no healthcheck"
                )
    topic_jobs = [n for n, d in services.items() if "create-topics.sh" in compose_command(d)]
    assert len(topic_jobs) == 1, f"compose: one service must run create-topics.sh: {topic_jobs}"
    postgres = [n for n, d in services.items() if str(d.get("image", "")).startswith("postgres")]
    assert len(postgres) == 1, f"compose: expected one postgres service, found {postgres}"
    apps = compose_apps()
    for service, definition in apps.items():
        depends = definition.get("depends_on") or {}
        assert isinstance(depends, dict), f"compose {service}: depends_on needs conditions"
        assert depends.get(postgres[0], {}).get("condition") == "service_healthy", (
            f"compose {service}: must wait for {postgres[0]} to be healthy"
        )
        assert depends.get(topic_jobs[0], {}).get("condition") == ("service_completed_successfully"), (
            f"compose {service}: must wait for {topic_jobs[0]} to complete"
        )
    gateway_depends = apps["gateway"].get("depends_on") or {}
    for upstream in SERVICES:
        if upstream != "gateway":
            assert upstream in gateway_depends, f"compose gateway: not started after {upstream}"


def test_compose_kafka_is_kraft_and_reachable() -> None:
    services = compose()["services"]
    brokers = {
        n: d
        for n, d in services.items()
        if str(d.get("image", "")).startswith("apache/kafka") and "healthcheck" in d
    }
    assert len(brokers) == 1, f"compose: expected one apache/kafka broker, found {sorted(brokers)}"
    env = compose_env(next(iter(brokers.values())))
    roles = set(env.get("KAFKA_PROCESS_ROLES", "").split(","))
    assert {"broker", "controller"} <= roles, f"compose kafka: KRaft roles are {roles}"
    advertised = {
        listener.split("://", 1)[1]
        for listener in env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",")
        if "://" in listener
    }
    assert advertised, "compose kafka: KAFKA_ADVERTISED_LISTENERS is not set"
    for service, definition in compose_apps().items():
        servers = compose_env(definition).get("KAFKA_BOOTSTRAP_SERVERS", "")
        assert set(servers.split(",")) <= advertised, (
            f"compose {service}: KAFKA_BOOTSTRAP_SERVERS={servers} is not an advertised listener "
            f"({sorted(advertised)})"
        )
        partitions = compose_env(definition).get(f"{prefix(service)}KAFKA_TOPIC_PARTITIONS")
        if partitions is not None:
            assert int(partitions) == DOMAIN_TOPIC["partitions"], (
                f"compose {service}: {prefix(service)}KAFKA_TOPIC_PARTITIONS != topics.yaml"
            )
    (job,) = [d for d in services.values() if "create-topics.sh" in compose_command(d)]
    assert compose_env(job).get("BOOTSTRAP_SERVER") in advertised, (
        "compose kafka-topics: BOOTSTRAP_SERVER is not the broker's advertised listener"
    )
    mounts = [str(v) for v in job.get("volumes", [])]
    assert any(m.split(":", 1)[0].rstrip("/") in ("./deploy/kafka", "deploy/kafka") for m in mounts), (
        f"compose kafka-topics: deploy/kafka is not mounted ({mounts})"
    )


# ----------------------------------------------------------------------------- Dockerfile


@functools.cache
def dockerfile_stages() -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """(global instructions before the first FROM, [instructions of each stage])."""
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    preamble: list[tuple[str, str]] = []
    stages: list[list[tuple[str, str]]] = []
    for instruction in logical:
        keyword, _, rest = instruction.partition(" ")
        item = (keyword.upper(), rest.strip())
        if item[0] == "FROM":
            stages.append([item])
        elif stages:
            stages[-1].append(item)
        else:
            preamble.append(item)
    assert stages, "Dockerfile has no FROM"
    return preamble, stages


def arg_names(instructions: list[tuple[str, str]]) -> set[str]:
    return {rest.split("=", 1)[0].strip() for kw, rest in instructions if kw == "ARG"}


def test_dockerfile_builds_one_service_by_arg() -> None:
    preamble, stages = dockerfile_stages()
    assert any("SERVICE" in arg_names(stage) for stage in stages), "Dockerfile: no ARG SERVICE"
    declared_anywhere = arg_names(preamble).union(*(arg_names(s) for s in stages))
    for index, stage in enumerate(stages):
        in_scope = arg_names(stage) | {
            rest.split("=", 1)[0] for kw, rest in stage if kw == "ENV" and "=" in rest
        }
        for keyword, rest in stage[1:]:
            for name in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", rest):
                if name in declared_anywhere:
                    assert name in in_scope, (
                        f"Dockerfile stage {index}: {keyword} uses ${name} but the stage does "
                        f"not declare ARG {name} (ARGs do not cross FROM)"
                    )
    global_args = dict(rest.split("=", 1) for kw, rest in preamble if kw == "ARG" and "=" in rest)
    for stage in stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), ""), image)
        assert image.startswith("python:3.11"), f"Dockerfile: stage FROM {image}, not python:3.11"


def test_dockerfile_dependency_layer_then_source() -> None:
    _, stages = dockerfile_stages()
    build = next(stage for stage in stages if any("uv sync" in rest for _, rest in stage))
    envs = " ".join(rest for kw, rest in build if kw == "ENV")
    assert re.search(r"UV_PYTHON_DOWNLOADS=never\b", envs), "Dockerfile: UV_PYTHON_DOWNLOADS=never"
    syncs = [i for i, (kw, rest) in enumerate(build) if kw == "RUN" and "uv sync" in rest]
    assert len(syncs) >= 2, "Dockerfile: expected a dependency sync and a project sync"
    dependency_sync = build[syncs[0]][1]
    for flag in ("--frozen", "--no-dev", "--no-install-workspace"):
        assert flag in dependency_sync, f"Dockerfile: first uv sync lacks {flag}"
    for i in syncs:
        assert re.search(r"--package\s+\"?heemang-\$\{SERVICE\}", build[i][1]), (
            f"Dockerfile: uv sync without --package heemang-${{SERVICE}}: {build[i][1]}"
        )
    copies_before = " ".join(rest for kw, rest in build[: syncs[0]] if kw == "COPY")
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    members = root["tool"]["uv"]["workspace"]["members"]
    for pattern in members:
        for member in sorted(REPO.glob(pattern)):
            manifest = member.relative_to(REPO) / "pyproject.toml"
            if (REPO / manifest).is_file():
                assert manifest.as_posix() in copies_before, (
                    f"Dockerfile: {manifest} is not copied before the dependency uv sync"
                )
    assert "uv.lock" in copies_before, "Dockerfile: uv.lock is not copied before uv sync"
    source_copies = [rest for kw, rest in build[syncs[0] : syncs[-1]] if kw == "COPY"]
    assert any("services/${SERVICE}" in rest for rest in source_copies), (
        "Dockerfile: the service's source is not copied between the two syncs"
    )


def test_dockerfile_final_stage_runs_as_non_root() -> None:
    _, stages = dockerfile_stages()
    final = stages[-1]
    users = [rest for kw, rest in final if kw == "USER"]
    assert users, "Dockerfile: the final stage has no USER"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0"), f"Dockerfile: final USER is {users[-1]}"
    assert user == str(NON_ROOT_UID), f"Dockerfile: final USER {user}, expected {NON_ROOT_UID}"
    assert any(kw == "EXPOSE" for kw, _ in final), "Dockerfile: final stage EXPOSEs no port"
    assert any(kw == "ENV" and "/app/.venv/bin" in rest for kw, rest in final), (
        "Dockerfile: the venv is not on PATH in the final stage"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_console_script_is_declared(service: str) -> None:
    scripts = console_scripts(service)
    assert f"heemang-{service}" in scripts, (
        f"services/{service}/pyproject.toml does not declare the heemang-{service} script"
    )


# ----------------------------------------------------------------------------- PostgreSQL


def require_tool(name: str) -> None:
    """A missing shell tool skips on a laptop but fails under CI, where the check must run."""
    if shutil.which(name) is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{name} is required under CI to check the deploy scripts")
        pytest.skip(f"{name} is not installed")


def run_with_stub(script: Path, shell: str, stub_name: str, env: Mapping[str, str], tmp_path: Path) -> str:
    """Run ``script`` with ``stub_name`` on PATH replaced by a recorder; return the record."""
    require_tool(shell)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    stub = bin_dir / stub_name
    stub.write_text(
        '#!/bin/sh\nprintf "CALL %s\\n" "$*" >>"$STUB_LOG"\nif [ ! -t 0 ]; then cat >>"$STUB_LOG"; fi\n'
    )
    stub.chmod(0o755)
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "STUB_LOG": str(log),
        **env,
    }
    result = subprocess.run(
        [shell, str(script)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, f"{script.name} failed: {result.stderr}"
    return log.read_text() if log.exists() else ""


def postgres_service() -> tuple[str, dict[str, Any]]:
    services = compose()["services"]
    (name,) = [n for n, d in services.items() if str(d.get("image", "")).startswith("postgres")]
    return name, services[name]


def test_postgres_is_16_with_the_init_script_mounted() -> None:
    name, definition = postgres_service()
    assert str(definition["image"]).startswith("postgres:16"), f"compose {name}: not postgres:16"
    mounts = [str(v).split(":") for v in definition.get("volumes", [])]
    init = [m for m in mounts if len(m) >= 2 and m[1].startswith("/docker-entrypoint-initdb.d")]
    assert init, f"compose {name}: nothing mounted into /docker-entrypoint-initdb.d"
    for mount in init:
        assert (REPO / mount[0]).resolve() == POSTGRES_INIT.resolve(), (
            f"compose {name}: mounts {mount[0]}, not deploy/postgres/{POSTGRES_INIT.name}"
        )


@pytest.fixture(scope="module")
def postgres_init_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp_path = tmp_path_factory.mktemp("psql")
    return run_with_stub(
        POSTGRES_INIT,
        "bash",
        "psql",
        {"POSTGRES_USER": "heemang", "HEEMANG_DB_PASSWORD": "test-password"},
        tmp_path,
    )


def test_postgres_init_creates_one_database_per_service(postgres_init_sql: str) -> None:
    databases = re.findall(
        r"CREATE DATABASE\s+\"?(\w+)\"?\s+OWNER\s+\"?(\w+)", postgres_init_sql, re.IGNORECASE
    )
    assert sorted(db for db, _ in databases) == sorted(f"heemang_{s}" for s in SERVICES), (
        f"init-databases.sh creates {databases}"
    )
    roles = set(re.findall(r"CREATE ROLE\s+\"?(\w+)", postgres_init_sql, re.IGNORECASE))
    for database, owner in databases:
        assert owner == database and owner in roles, (
            f"init-databases.sh: {database} must be owned by its own role, not {owner}"
        )
    sql = "\n".join(line for line in postgres_init_sql.splitlines() if not line.startswith("CALL "))
    assert "test-password" not in sql, (
        "init-databases.sh: the password must reach psql as a variable, not inside the SQL text"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_compose_database_url_is_the_services_own(service: str) -> None:
    env = compose_env(compose_apps()[service])
    url = urlsplit(env["DATABASE_URL"])
    pg_name, pg = postgres_service()
    where = f"compose {service}: DATABASE_URL={env['DATABASE_URL']}"
    assert url.scheme == "postgresql+asyncpg", where
    assert url.hostname == pg_name and (url.port or 5432) == 5432, where
    assert url.path == f"/heemang_{service}", f"{where} is not its own database"
    assert url.username == f"heemang_{service}", f"{where} does not use its own role"
    assert url.password == compose_env(pg).get("HEEMANG_DB_PASSWORD"), (
        f"{where}: password differs from the one init-databases.sh gives the role"
    )


# ----------------------------------------------------------------------------- Kubernetes


@functools.cache
def k8s_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    files = sorted(K8S_DIR.glob("*.y*ml"))
    assert files, "deploy/k8s holds no manifests"
    docs = []
    for path in files:
        for doc in load_yaml_documents(path):
            if doc is not None:
                assert isinstance(doc, dict) and "kind" in doc, f"{path.name}: document without kind"
                docs.append((path.name, doc))
    return tuple(docs)


def k8s(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(f, d) for f, d in k8s_documents() if d["kind"] == kind]


def app_label(doc: Mapping[str, Any]) -> str | None:
    return (doc.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name")


def k8s_for(kind: str, service: str) -> dict[str, Any]:
    found = [d for f, d in k8s(kind) if app_label(d) == service and not f.startswith("secrets")]
    assert len(found) == 1, f"k8s: expected one {kind} labelled {service}, found {len(found)}"
    return found[0]


def deployment_container(service: str) -> dict[str, Any]:
    containers = k8s_for("Deployment", service)["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == service]
    return container


def resolve_port(service: str, port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p.get("name"): p["containerPort"] for p in deployment_container(service)["ports"]}
    assert port in named, f"k8s {service}: named port {port!r} is not a container port"
    return int(named[port])


def config_map(name: str) -> dict[str, str]:
    found = [d for _, d in k8s("ConfigMap") if d["metadata"]["name"] == name]
    assert len(found) == 1, f"k8s: ConfigMap {name} is defined {len(found)} times"
    return {str(k): str(v) for k, v in (found[0].get("data") or {}).items()}


def example_secrets() -> dict[str, dict[str, str]]:
    secrets = {}
    for filename, doc in k8s("Secret"):
        assert filename == "secrets.example.yaml", f"{filename}: Secrets belong in secrets.example"
        secrets[doc["metadata"]["name"]] = {
            **(doc.get("data") or {}),
            **(doc.get("stringData") or {}),
        }
    return secrets


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        for _, doc in k8s(kind):
            yield f"{kind} {doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def container_env(service: str, container: Mapping[str, Any]) -> dict[str, str]:
    """The container's environment: its ConfigMaps' data plus env (secrets by example)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"k8s {service}: envFrom only from ConfigMaps: {source}"
        env.update(config_map(source["configMapRef"]["name"]))
    secrets = example_secrets()
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        assert ref, f"k8s {service}: env {item['name']} must be a value or a secretKeyRef"
        assert ref["name"] in secrets and ref["key"] in secrets[ref["name"]], (
            f"k8s {service}: {item['name']} reads secret {ref['name']}/{ref['key']}, "
            "which secrets.example.yaml does not show"
        )
        env[item["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def test_k8s_deploys_every_service() -> None:
    for kind in ("Deployment", "Service", "ConfigMap"):
        labelled = sorted(app_label(d) or "?" for _, d in k8s(kind) if app_label(d) in SERVICES)
        assert labelled == sorted(SERVICES), f"k8s: {kind}s for {labelled}, not {SERVICES}"
    for _, doc in k8s("Deployment"):
        service = app_label(doc)
        assert service in SERVICES, f"k8s Deployment {doc['metadata']['name']}: unknown service"
        assert (REPO / "services" / service / "pyproject.toml").is_file(), service


def test_k8s_namespace_and_kustomization() -> None:
    namespaces = [d["metadata"]["name"] for _, d in k8s("Namespace")]
    assert namespaces == ["heemang"], f"k8s: namespaces {namespaces}"
    for filename, doc in k8s_documents():
        if doc["kind"] in ("Namespace", "Kustomization"):
            continue
        assert doc["metadata"].get("namespace") == "heemang", (
            f"{filename}: {doc['kind']} {doc['metadata']['name']} is not in namespace heemang"
        )
    kustomizations = [d for _, d in k8s("Kustomization")]
    assert len(kustomizations) == 1, "deploy/k8s needs one kustomization.yaml"
    kustomization = kustomizations[0]
    listed = set(kustomization.get("resources", []))
    manifests = {p.name for p in K8S_DIR.glob("*.y*ml")} - {"kustomization.yaml"}
    assert "secrets.example.yaml" not in listed, "kustomization applies the example Secrets"
    assert listed == manifests - {"secrets.example.yaml"}, (
        f"kustomization.yaml resources {sorted(listed)} != manifests {sorted(manifests)}"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_ports_are_the_service_port(service: str) -> None:
    port = default_port(service)
    container = deployment_container(service)
    ports = [p["containerPort"] for p in container.get("ports", [])]
    assert ports == [port], f"k8s {service}: containerPorts {ports}, expected [{port}]"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            probe_port = resolve_port(service, container[probe]["httpGet"]["port"])
            assert probe_port == port, f"k8s {service}: {probe} on {probe_port}, not {port}"
    svc = k8s_for("Service", service)
    for entry in svc["spec"]["ports"]:
        target = resolve_port(service, entry.get("targetPort", entry["port"]))
        assert target == port, f"k8s Service {service}: targetPort {target}, not {port}"
        assert entry["port"] == port, f"k8s Service {service}: port {entry['port']}, not {port}"
    assert svc["metadata"]["name"] == service, f"k8s Service for {service} must be named so"
    annotations = k8s_for("Deployment", service)["spec"]["template"]["metadata"].get("annotations", {})
    if "prometheus.io/port" in annotations:
        assert int(annotations["prometheus.io/port"]) == port, f"k8s {service}: metrics port"
    env = container_env(service, container)
    if f"{prefix(service)}PORT" in env:
        assert int(env[f"{prefix(service)}PORT"]) == port, f"k8s {service}: {prefix(service)}PORT"


def test_k8s_gateway_upstream_urls() -> None:
    env = container_env("gateway", deployment_container("gateway"))
    services = {d["metadata"]["name"]: d for _, d in k8s("Service")}
    for upstream in SERVICES:
        if upstream == "gateway":
            continue
        name = f"GATEWAY_{upstream.upper()}_URL"
        assert name in env, f"k8s gateway: {name} is not set"
        url = urlsplit(env[name])
        host = (url.hostname or "").split(".")[0]
        assert host in services and app_label(services[host]) == upstream, (
            f"k8s gateway: {name}={env[name]} does not name the {upstream} Service"
        )
        assert url.port == default_port(upstream), f"k8s gateway: {name} port != {upstream}'s"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_env_is_read_by_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = k8s_for("Deployment", service)["spec"]["template"]["spec"]
    p = prefix(service)
    for container in spec.get("initContainers", []) + spec["containers"]:
        where = f"k8s {service}/{container['name']}"
        names = {item["name"] for item in container.get("env", [])}
        for source in container.get("envFrom", []):
            names |= set(config_map(source["configMapRef"]["name"]))
        unknown = sorted(names - allowed_env(service))
        assert not unknown, f"{where}: heemang_{service}.Settings reads none of {unknown}"
        secret_refs = {
            item["name"]: item["valueFrom"]["secretKeyRef"]
            for item in container.get("env", [])
            if "secretKeyRef" in item.get("valueFrom", {})
        }
        for name in ("DATABASE_URL", f"{p}OPS_TOKEN"):
            assert name in secret_refs, f"{where}: {name} must come from a secretKeyRef"
            assert secret_refs[name]["name"] == f"{service}-secrets", (
                f"{where}: {name} reads another service's secret {secret_refs[name]['name']}"
            )
        check_settings(
            service, build_settings(service, container_env(service, container), monkeypatch), where
        )
    # The ConfigMap a service reads holds only what that service's Settings knows.
    own = config_map(f"{service}-config")
    unknown = sorted(set(own) - allowed_env(service))
    assert not unknown, f"k8s ConfigMap {service}-config: unknown keys {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_probes(service: str) -> None:
    container = deployment_container(service)
    where = f"k8s {service}"
    assert container.get("livenessProbe"), f"{where}: no livenessProbe"
    assert container.get("readinessProbe"), f"{where}: no readinessProbe"
    assert container["livenessProbe"]["httpGet"]["path"] == LIVENESS_PATH, f"{where}: liveness"
    assert container["readinessProbe"]["httpGet"]["path"] == READINESS_PATH, f"{where}: readiness"


def test_k8s_every_probe_path_is_known() -> None:
    seen = 0
    for filename, doc in k8s_documents():
        for key, value in walk(doc):
            if key in ("livenessProbe", "readinessProbe", "startupProbe") and "httpGet" in value:
                path = value["httpGet"]["path"]
                assert path in probe_paths(), f"{filename}: {key} path {path} is not a probe path"
                seen += 1
    assert seen >= 2 * len(SERVICES), f"k8s: only {seen} HTTP probes found"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_migrates_in_an_init_container(service: str) -> None:
    spec = k8s_for("Deployment", service)["spec"]["template"]["spec"]
    main = deployment_container(service)
    where = f"k8s {service}"
    assert check_command(service, " ".join(main.get("command", []) + main.get("args", [])), where) == [
        "serve"
    ], f"{where}: the container must serve"
    init = spec.get("initContainers", [])
    migrations = [
        c
        for c in init
        if "migrate" in check_command(service, " ".join(c.get("command", []) + c.get("args", [])), where)
    ]
    assert len(migrations) == 1, f"{where}: expected one initContainer running migrate"
    migrate = migrations[0]
    assert migrate["image"] == main["image"], f"{where}: migrate runs another image"
    assert migrate.get("envFrom") == main.get("envFrom") and migrate.get("env") == main.get("env"), (
        f"{where}: migrate and serve must see the same environment (same database)"
    )


def test_k8s_pods_are_non_root_and_bounded() -> None:
    specs = list(pod_specs())
    assert len(specs) > len(SERVICES) - 1, "k8s: pod templates are missing"
    for where, spec in specs:
        pod_sc = spec.get("securityContext") or {}
        for container in spec.get("initContainers", []) + spec["containers"]:
            name = f"{where}/{container['name']}"
            sc = {**pod_sc, **(container.get("securityContext") or {})}
            assert sc.get("runAsNonRoot") is True, f"{name}: runAsNonRoot is not true"
            assert sc.get("runAsUser", 1) != 0, f"{name}: runAsUser is 0"
            assert (container.get("securityContext") or {}).get("allowPrivilegeEscalation") is False, (
                f"{name}: allowPrivilegeEscalation is not false"
            )
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(bound) or {})
                assert not missing, f"{name}: resources.{bound} lacks {sorted(missing)}"
    for service in SERVICES:
        pod_sc = k8s_for("Deployment", service)["spec"]["template"]["spec"]["securityContext"]
        assert pod_sc.get("runAsUser") == NON_ROOT_UID, (
            f"k8s {service}: runAsUser must be the image's USER {NON_ROOT_UID}"
        )


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_secret_example_database_url(service: str) -> None:
    secrets = example_secrets()
    name = f"{service}-secrets"
    assert name in secrets, f"secrets.example.yaml: no Secret {name}"
    url = urlsplit(secrets[name]["database-url"])
    assert url.scheme == "postgresql+asyncpg", f"{name}: database-url scheme {url.scheme}"
    assert url.path == f"/heemang_{service}", f"{name}: database-url is not heemang_{service}"


# ----------------------------------------------------------------------------- Kafka topics


@functools.cache
def topic_entries() -> dict[str, dict[str, Any]]:
    data = load_yaml(TOPICS_FILE)
    entries = data.get("topics") if isinstance(data, dict) else None
    assert isinstance(entries, list) and entries, "deploy/kafka/topics.yaml has no topics list"
    by_name: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = entry.get("name")
        assert name, f"topics.yaml: an entry without a name: {entry}"
        assert name not in by_name, f"topics.yaml: {name} is listed twice"
        by_name[name] = entry
    return by_name


def test_topics_match_the_event_catalogue() -> None:
    topics, source = expected_topics()
    expected = set(topics) | {t + DLQ_SUFFIX for t in topics}
    actual = set(topic_entries())
    assert actual == expected, (
        f"topics.yaml differs from {source} plus a .dlq each: "
        f"missing {sorted(expected - actual)}, extra {sorted(actual - expected)}"
    )


def test_topic_settings() -> None:
    for name, entry in topic_entries().items():
        wanted = DLQ_TOPIC if name.endswith(DLQ_SUFFIX) else DOMAIN_TOPIC
        config = entry.get("config") or {}
        actual = {
            "partitions": entry.get("partitions"),
            "retention.ms": config.get("retention.ms"),
            "cleanup.policy": config.get("cleanup.policy"),
        }
        assert actual == wanted, f"topics.yaml {name}: {actual}, expected {wanted}"
        rf = entry.get("replication_factor")
        assert isinstance(rf, int) and rf >= 1, f"topics.yaml {name}: replication_factor {rf!r}"


@pytest.mark.parametrize("override", [None, "1"])
def test_create_topics_script_creates_exactly_topics_yaml(override: str | None, tmp_path: Path) -> None:
    require_tool("awk")
    bin_dir = tmp_path / "kafka-bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("kafka-topics.sh", "kafka-configs.sh"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >>"$STUB_LOG"\n')
        stub.chmod(0o755)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "STUB_LOG": str(log),
        "KAFKA_BIN": str(bin_dir),
        "BOOTSTRAP_SERVER": "broker:9092",
        "TOPICS_FILE": str(TOPICS_FILE),
    }
    if override:
        env["REPLICATION_FACTOR"] = override
    require_tool("sh")
    result = subprocess.run(
        ["sh", str(CREATE_TOPICS_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"create-topics.sh failed: {result.stderr}"
    created: dict[str, dict[str, Any]] = {}
    altered: dict[str, str] = {}
    for line in log.read_text().splitlines():
        words = line.split()
        opts = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--")}
        assert opts.get("--bootstrap-server") == "broker:9092", f"create-topics.sh: {line}"
        if words[0] == "kafka-topics.sh" and "--create" in words:
            configs = dict(w.split("=", 1) for prev, w in itertools.pairwise(words) if prev == "--config")
            created[opts["--topic"]] = {
                "partitions": int(opts["--partitions"]),
                "rf": int(opts["--replication-factor"]),
                **configs,
            }
        elif words[0] == "kafka-configs.sh":
            altered[opts["--entity-name"]] = opts["--add-config"]
    entries = topic_entries()
    assert set(created) == set(entries), "create-topics.sh does not create topics.yaml's topics"
    for name, entry in entries.items():
        config = {k: str(v) for k, v in (entry.get("config") or {}).items()}
        rf = int(override) if override else entry["replication_factor"]
        assert created[name] == {"partitions": entry["partitions"], "rf": rf, **config}, (
            f"create-topics.sh created {name} as {created[name]}"
        )
        assert dict(kv.split("=", 1) for kv in altered[name].split(",")) == config, (
            f"create-topics.sh re-applies {altered[name]} to {name}"
        )


def test_k8s_topic_job_uses_the_same_files() -> None:
    data = config_map("kafka-topics")
    assert data.get("topics.yaml") == TOPICS_FILE.read_text(), (
        "deploy/k8s/kafka-topics.yaml: ConfigMap topics.yaml differs from deploy/kafka/topics.yaml "
        "(regenerate it: see the comment at the top of that file)"
    )
    assert data.get("create-topics.sh") == CREATE_TOPICS_SCRIPT.read_text(), (
        "deploy/k8s/kafka-topics.yaml: ConfigMap create-topics.sh differs from deploy/kafka/"
    )
    (job,) = [d for _, d in k8s("Job") if d["metadata"]["name"] == "kafka-topics"]
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"].startswith("apache/kafka"), "k8s kafka-topics: not apache/kafka"
    assert "create-topics.sh" in " ".join(container.get("command", []) + container.get("args", []))
    assert any(v.get("configMap", {}).get("name") == "kafka-topics" for v in spec["volumes"])
    bootstrap = {e["name"]: e.get("value") for e in container.get("env", [])}["BOOTSTRAP_SERVER"]
    for service in SERVICES:
        env = container_env(service, deployment_container(service))
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap, (
            f"k8s {service}: KAFKA_BOOTSTRAP_SERVERS differs from the topic Job's broker"
        )
        partitions = env.get(f"{prefix(service)}KAFKA_TOPIC_PARTITIONS")
        if partitions is not None:
            assert int(partitions) == DOMAIN_TOPIC["partitions"], (
                f"k8s {service}: {prefix(service)}KAFKA_TOPIC_PARTITIONS != topics.yaml"
            )
