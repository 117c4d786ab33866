"""``python -m bench`` (``make bench``): every figure from one run, printed and saved.

One broker and one database factory serve every figure; each figure gets its own topics,
consumer groups and fresh databases, so the runs do not interfere. Everything started here
is stopped here, and every database created is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import casework, consumer, e2e, gateway, hotline, intake, relay, resources
from bench.env import BenchEnv, load_average
from bench.results import save, table

SECTIONS = ("relay", "consumer", "e2e", "intake", "casework", "resources", "hotline", "gateway")


def sections(args: argparse.Namespace) -> list[str]:
    chosen = [args.only] if args.only else list(SECTIONS)
    if args.e2e_processes and "e2e" in chosen:
        chosen.append("e2e_processes")
    return chosen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events for relay and consumer")
    parser.add_argument("--referrals", type=int, default=1_000, help="referrals for the e2e figure")
    parser.add_argument("--workers", type=int, default=20, help="concurrent e2e clients")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="e2e: pause between polls")
    parser.add_argument("--relay-batch", type=int, default=1_000, help="OutboxRelay batch_size")
    parser.add_argument("--e2e-processes", action="store_true",
                        help="also run e2e with each service a child process, as make run does")
    parser.add_argument("--sqlite", action="store_true", help="force SQLite (the make-run default)")
    parser.add_argument("--only", choices=SECTIONS, help="run one figure only")
    parser.add_argument("--full", action="store_true",
                        help="the issues' sizes: 200,000 cases / 2,000,000 services, 100,000 recipients, "
                             "1,000,000 enrolments (slow)")
    args = parser.parse_args(argv)
    if min(args.events, args.referrals, args.workers, args.relay_batch) < 1 or args.poll_ms < 0:
        parser.error("counts must be positive")
    return args


async def run_section(name: str, env: BenchEnv, args: argparse.Namespace) -> tuple[dict[str, float], Any]:
    if name == "relay":
        return await relay.run(env, events=args.events, batch_size=args.relay_batch)
    if name == "consumer":
        return await consumer.run(env, events=args.events)
    if name == "intake":
        return await intake.run(env, rows=50_000, posts=1_000)
    if name == "casework":
        return await casework.run(env, **(dict(cases=200_000, services=2_000_000) if args.full else {}))
    if name == "resources":
        return await resources.run(env, postings=10_000, workers=16, trial_entries=1_000_000)
    if name == "hotline":
        sizes = dict(recipients=100_000, enrolments=1_000_000) if args.full else {}
        return await hotline.run(env, **sizes)
    if name == "gateway":
        return await gateway.run(env, clients=200, requests=4_000)
    load = e2e.Load(referrals=args.referrals, workers=args.workers, poll_s=args.poll_ms / 1000)
    return await e2e.run(env, load, processes=name == "e2e_processes")


async def main(args: argparse.Namespace) -> int:
    env = await BenchEnv.open(force_sqlite=args.sqlite)
    print(f"database: {env.databases.backend}   broker: {env.broker_name}   "
          f"busy test processes: {len(busy_processes())}", flush=True)
    figures: dict[str, float] = {}
    meta: dict[str, Any] = {"run": run_meta(env, args)}
    try:
        for name in sections(args):
            print(f"... {name}", flush=True)
            before = load_average()
            section, details = await run_section(name, env, args)
            figures.update(section)
            meta[name] = {**details, "load_before": before, "load_after": load_average(),
                          "busy_processes": busy_processes()}
    finally:
        await env.close()
    path = save(figures, meta)
    print()
    print(table(figures))
    print(f"\nmerged into {path} (run details in {path.with_name('meta.json')})")
    return 0


def run_meta(env: BenchEnv, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {memory_gib()} GiB, {platform.machine()}",
        "python": platform.python_version(),
        "database_backend": env.databases.backend,
        "broker": env.broker_name,
        "aiokafka": version("aiokafka"),
        "sqlalchemy": version("sqlalchemy"),
        "args": vars(args),
    }


def memory_gib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2)
    except OSError:
        pass
    return 0


def busy_processes() -> list[str]:
    """Other pytest / service processes on this host: they share the 2 cores with us."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.parent.name == str(os.getpid()):
                continue
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode(errors="replace")
        if "pytest" in text or "heemang_common.devstack" in text or "heemang-" in text:
            found.append(text[:120])
    return found


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(parse_args())))
