"""``make run``: the whole stack on one machine, Python only.

Starts the embedded broker, applies every service's migrations, starts the services as
child processes and prints where they are. It then supervises: a service that dies is
restarted; a broker that dies is restarted as a new incarnation (broker.py). Services find
the broker through var/broker.json, so each relay sees the new incarnation and replays its
outbox window before publishing to it, and consumers reconnect (their inboxes absorb the
duplicates). Every ``make run`` starts a fresh broker, so the same replay also re-sends
anything the last session published but nobody consumed. Ctrl-C stops the services
gracefully (consumers finish their batch) and then the broker; children also get SIGTERM
if this process dies. With KAFKA_BOOTSTRAP_SERVERS set, no embedded broker is started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from heemang_common.broker import ADDRESS_FILE, EmbeddedBroker, set_parent_death_signal
from heemang_common.settings import VAR_DIR

DEFAULT_PORTS = {"gateway": 8000, "intake": 8001, "casework": 8002, "resources": 8003, "hotline": 8004}
LOG_DIR = VAR_DIR / "log"


def say(message: str) -> None:
    print(f"[heemang] {message}", flush=True)


@dataclass
class Child:
    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = LOG_DIR / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [command_for(self.name), "serve"],
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=set_parent_death_signal,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def command_for(service: str) -> str:
    """The service's console script, from the same environment as this Python."""
    script = Path(sys.executable).with_name(f"heemang-{service}")
    return str(script) if script.exists() else f"heemang-{service}"


def service_env(name: str, port: int, ports: dict[str, int]) -> dict[str, str]:
    prefix = name.upper()
    env = {**os.environ, f"{prefix}_PORT": str(port)}
    env.setdefault(f"{prefix}_HOST", "127.0.0.1")
    env.setdefault("LOG_JSON", "true")
    if "gateway" in ports:  # services verify tokens with the gateway's public keys
        env.setdefault("AUTH_JWKS_URL", f"http://127.0.0.1:{ports['gateway']}/.well-known/jwks.json")
    if name == "gateway":
        for upstream, upstream_port in ports.items():
            if upstream != "gateway":
                env.setdefault(f"GATEWAY_{upstream.upper()}_URL", f"http://127.0.0.1:{upstream_port}")
    return env


def run_step(service: str, args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([command_for(service), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"heemang-{service} {' '.join(args)} failed")
    return result.stdout


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Supervisor:
    def __init__(self, services: list[str]) -> None:
        self.external_broker = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        self.broker = EmbeddedBroker(
            port=int(os.environ.get("HEEMANG_BROKER_PORT", "0")) or None,
            log_path=LOG_DIR / "broker.log",
            address_file=ADDRESS_FILE,
        )
        ports = {s: int(os.environ.get(f"{s.upper()}_PORT", DEFAULT_PORTS[s])) for s in services}
        self.children = [Child(s, ports[s], service_env(s, ports[s], ports)) for s in services]
        self.stopping = asyncio.Event()
        self.demo_users = ""

    async def run(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._check_ports()
        if self.external_broker:
            say(f"using the broker at {self.external_broker} (KAFKA_BOOTSTRAP_SERVERS)")
        else:
            await self.broker.start()
            say(f"embedded broker at {self.broker.bootstrap_servers} (log: {self.broker.log_path})")
        await self._each(["migrate"])
        say("migrations applied: " + ", ".join(c.name for c in self.children))
        self.demo_users = self._seed_demo_users()
        for child in self.children:
            child.start()
        await self._wait_healthy()
        self._print_urls()
        await self._supervise()

    def _check_ports(self) -> None:
        import socket

        for child in self.children:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", child.port)) == 0:
                    raise SystemExit(
                        f"port {child.port} for {child.name} is taken; set {child.name.upper()}_PORT"
                    )

    def _seed_demo_users(self) -> str:
        """Demo accounts, one per role, so the docs UI can be tried at once (development)."""
        gateway = next((c for c in self.children if c.name == "gateway"), None)
        if gateway is None or os.environ.get("HEEMANG_DEMO_USERS", "true").lower() in {"0", "false", "no"}:
            return ""
        return run_step("gateway", ["seed-demo-users"], gateway.env)

    async def _each(self, args: list[str]) -> None:
        """Run one CLI step for every service at once (each its own database)."""
        await asyncio.gather(
            *(asyncio.to_thread(run_step, child.name, args, child.env) for child in self.children)
        )

    async def _wait_healthy(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(self.children)
        while pending and time.monotonic() < deadline:
            for child in list(pending):
                if not child.alive():
                    raise SystemExit(f"{child.name} exited at start; see {child.log_path}")
                if await asyncio.to_thread(healthy, child.url):
                    pending.remove(child)
            await asyncio.sleep(0.2)
        if pending:
            raise SystemExit("not healthy in time: " + ", ".join(c.name for c in pending))

    def _print_urls(self) -> None:
        gateway = next((c for c in self.children if c.name == "gateway"), None)
        print()
        if gateway:
            say(f"API (gateway):   {gateway.url}/api/v1")
            say(f"OpenAPI docs:    {gateway.url}/docs   (schema: {gateway.url}/openapi.json)")
        for child in self.children:
            say(f"{child.name:<10} {child.url}   docs {child.url}/docs   log {child.log_path}")
        if self.demo_users:
            print(self.demo_users.rstrip())
            say("Sign in: POST /auth/token (form: username, password[, otp]) or the docs' Authorize button.")
        say("Ctrl-C stops everything.")
        print(flush=True)

    async def _supervise(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 1.0)
            if self.stopping.is_set():
                break
            if not self.external_broker and not self.broker.is_running():
                say("broker died: starting a new one; relays replay their outbox into it")
                await self.broker.restart()
            for child in self.children:
                if not child.alive():
                    child.restarts += 1
                    say(f"{child.name} exited ({child.process and child.process.returncode}); restarting")
                    await asyncio.sleep(min(child.restarts, 10))
                    child.start()

    async def shutdown(self) -> None:
        say("stopping: services drain their consumers, then the broker stops")
        for child in self.children:
            if child.alive() and child.process is not None:
                child.process.send_signal(signal.SIGTERM)
        for child in self.children:
            if child.process is not None:
                try:
                    await asyncio.to_thread(child.process.wait, 30)
                except subprocess.TimeoutExpired:
                    child.process.kill()
        await self.broker.stop()
        say("stopped")


async def main(services: list[str]) -> None:
    supervisor = Supervisor(services)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, supervisor.stopping.set)
    try:
        await supervisor.run()
    finally:
        await supervisor.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m heemang_common.devstack")
    parser.add_argument("services", nargs="+", choices=sorted(DEFAULT_PORTS))
    asyncio.run(main(parser.parse_args().services))
