"""`python -m bench.replicas [--chats 32] [--rounds 4] [--json]`: chat latency through nginx with 1 app replica and
with 2, both on PostgreSQL, on the sample knowledge (knowledge/) and the questions of bench/cases/sample.jsonl.

For each count it starts what deploy/ runs, on this machine (tests/replica_cluster.py): one indexer, the replicas
with KB_INDEX_MODE=follow, Debian's nginx in front. A throwaway PostgreSQL cluster is started for the run unless
--database-url names one. `--chats` clients ask at once, each `--rounds` questions, through nginx's /v1/ API; the
figures are per chat (the full request, as a client sees it). On one machine the replicas share its cores, so
what 2 replicas give here is the cost of the balancing, not the capacity of two hosts."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from agent.settings import REPO_ROOT

CASES = REPO_ROOT / "bench" / "cases" / "sample.jsonl"


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(replicas: int, database_url: str, chats: int, rounds: int, folder: Path) -> dict:
    from tests.replica_cluster import ReplicaCluster, chat

    knowledge = folder / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", knowledge)
    asked = questions()
    started = time.monotonic()
    cluster = ReplicaCluster(folder, knowledge, database_url, replicas=replicas)
    start_s = time.monotonic() - started
    try:
        for replica in cluster.replicas:  # the first question of each loads what answering needs
            for question in asked[:3]:
                chat(replica.url, question)

        def client(number: int) -> list[tuple[float, int]]:
            done = []
            for round_number in range(rounds):
                began = time.perf_counter()
                status, _ = chat(cluster.url, asked[(number * rounds + round_number) % len(asked)])
                done.append((time.perf_counter() - began, status))
            return done

        began = time.perf_counter()
        with ThreadPoolExecutor(chats) as pool:
            results = [item for future in [pool.submit(client, n) for n in range(chats)] for item in future.result()]
        wall = time.perf_counter() - began
    finally:
        cluster.stop()
    latencies = np.array([seconds for seconds, _ in results]) * 1000
    return {"replicas": replicas, "chats": len(results), "errors": sum(status != 200 for _, status in results),
            "p50_ms": round(float(np.percentile(latencies, 50))), "p95_ms": round(float(np.percentile(latencies, 95))),
            "chats_per_s": round(len(results) / wall, 1), "cluster_start_s": round(start_s, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=32, help="clients asking at once (default 32)")
    parser.add_argument("--rounds", type=int, default=4, help="questions each client asks (default 4)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server's URL (default: a throwaway one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from tests.storage_backends import PostgresServer, _start_throwaway

    server = PostgresServer(args.database_url) if args.database_url else _start_throwaway()
    rows = []
    for replicas in (1, 2):
        url, schema = server.new_schema_url()
        with tempfile.TemporaryDirectory(prefix=f"kb-replicas-{replicas}-") as folder:
            rows.append(measure(replicas, url, args.chats, args.rounds, Path(folder)))
        server.drop_schema(schema)
        print(f"{replicas} replica(s): {rows[-1]}", file=sys.stderr)
    if server.stoppable:
        server.stop()
    if args.json:
        print(json.dumps({"rows": rows}))
    else:
        print(f"{'replicas':>8} {'chats':>6} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'chats/s':>8}")
        for row in rows:
            print(f"{row['replicas']:>8} {row['chats']:>6} {row['errors']:>6} {row['p50_ms']:>7} {row['p95_ms']:>7} "
                  f"{row['chats_per_s']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
