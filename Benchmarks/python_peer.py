"""The peer for the ingest benchmark: a plain Python version of the original in-memory monitor.

It subscribes to every agent's channel with redis-py, keeps each agent's last heartbeat (parsed
JSON and the local receive time) in a dict, and writes nothing to Redis, as the Node.js monitor
did. Prints JSON: heartbeats received and the seconds from the first to the last one.

    python3 Benchmarks/python_peer.py --port 6379 --agents 1000 --expect 1000000
"""
import argparse
import json
import sys
import time

import redis


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--ready-file", required=True, help="written once subscribed")
    parser.add_argument("--idle-timeout", type=float, default=30.0)
    args = parser.parse_args()

    client = redis.Redis(host="127.0.0.1", port=args.port)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    channels = [f"agents:heartbeat:a{i}" for i in range(args.agents)]
    for start in range(0, len(channels), 1000):
        pubsub.subscribe(*channels[start : start + 1000])
    while len(pubsub.channels) < args.agents or pubsub.subscribed is False:
        pubsub.get_message(timeout=0.1)
    # Drain the subscribe confirmations before saying we are ready.
    while pubsub.get_message(timeout=0.2) is not None:
        pass
    open(args.ready_file, "w").close()

    last: dict[str, tuple[float, object]] = {}
    received = malformed = 0
    first = last_at = None
    waiting_since = time.time()
    while received < args.expect:
        message = pubsub.get_message(timeout=1.0)
        if message is None or message.get("type") != "message":
            # Nothing (or a subscribe confirmation): stop once the burst has been quiet long enough.
            if time.time() - (last_at or waiting_since) > args.idle_timeout:
                break
            continue
        now = time.time()
        if first is None:
            first = now
        last_at = now
        received += 1
        channel = message["channel"].decode()
        try:
            payload = json.loads(message["data"])
        except ValueError:
            payload = None
            malformed += 1
        last[channel] = (now, payload)
    json.dump({"received": received, "malformed": malformed, "seconds": (last_at or 0) - (first or 0)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
