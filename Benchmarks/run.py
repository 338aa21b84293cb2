"""agent-heartbeat benchmarks: one table, every figure beside a reference measured in the same run.

Started by Benchmarks/run.sh (which installs what is needed and builds the release binary). Starts
its own redis-server on a free loopback port; every process it starts talks to 127.0.0.1 only.

Scenarios (see Benchmarks/README.md):
  1. ingest       a burst of heartbeats published with pipelining; mirrored/s by one replica
  2. check        one full check of 100,000 agents vs. the bare pipelined MGET round trips
  3. memory       RSS idle with 4 agents and after a check of 100,000; CPU of an idle replica
  4. detection    last heartbeat -> alert at a local HTTP server standing in for Telegram
  5. replicas     the ingest burst with three replicas: Redis write load, anything lost
  6. failover     blind time: master killed -> first heartbeat mirrored on the new master
                  (Sentinel: master, replica, three sentinels; Cluster: three masters, three replicas)
  7. cluster      scenarios 1 and 2 on a Redis Cluster of three masters; the CPU the slot's owner
                  spends per heartbeat (all of a deployment's keys share one hash tag)
"""
import argparse
import csv
import http.server
import json
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class Redis:
    def __init__(self, work: str, *extra: str, sentinel_config: str | None = None):
        self.port = free_port()
        self.pidfile = os.path.join(work, f"redis-{self.port}.pid")
        # --dir: never a dump.rdb from the current folder (a cluster node must start empty).
        common = ["--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "yes", "--pidfile", self.pidfile,
                  "--logfile", os.path.join(work, f"redis-{self.port}.log"), "--dir", work]
        if sentinel_config is not None:
            path = os.path.join(work, f"sentinel-{self.port}.conf")
            with open(path, "w") as f:
                f.write(sentinel_config)
            subprocess.run(["redis-server", path, "--sentinel", *common], check=True)
        else:
            subprocess.run(["redis-server", *common, "--save", "", "--appendonly", "no", *extra], check=True)
        wait_until(self.answers, 10, "redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.port), "PING"], capture_output=True).stdout.strip() == b"PONG"

    def cli(self, *args: str, stdin: bytes | None = None) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], input=stdin, capture_output=True, check=True).stdout.decode().strip()

    def pipe(self, path: str) -> float:
        """Sends a RESP file with redis-cli --pipe; returns the seconds it took."""
        start = time.monotonic()
        with open(path, "rb") as f:
            subprocess.run(["redis-cli", "-p", str(self.port), "--pipe"], stdin=f, stdout=subprocess.DEVNULL, check=True)
        return time.monotonic() - start

    def commandstats(self) -> dict[str, int]:
        stats = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            match = re.match(r"cmdstat_(\w+):calls=(\d+)", line)
            if match:
                stats[match.group(1)] = int(match.group(2))
        return stats

    def stop(self, sig=signal.SIGTERM):
        try:
            os.kill(int(open(self.pidfile).read()), sig)
        except (OSError, ValueError):
            pass

    def cpu_seconds(self) -> float:
        info = dict(line.split(":", 1) for line in self.cli("INFO", "cpu").splitlines() if ":" in line)
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Cluster:
    """A Redis Cluster on loopback: `masters` masters with `replicas` replicas each."""

    def __init__(self, work: str, masters: int, replicas: int):
        self.nodes = [Redis(work, "--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
                            "--cluster-config-file", os.path.join(work, f"nodes-{free_port()}.conf"),
                            "--cluster-port", str(free_port()))
                      for _ in range(masters * (1 + replicas))]
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", str(replicas), "--cluster-yes"], capture_output=True, check=True)
        wait_until(lambda: all(self.slots_served(n, masters, replicas) for n in self.nodes), 60, "the cluster", 0.2)

    @staticmethod
    def slots_served(node: Redis, masters: int, replicas: int) -> bool:
        """The cluster is whole as this node sees it, and if it is a replica, it is in sync: a replica
        that never synced refuses to fail over (cluster-replica-validity-factor)."""
        lines = node.cli("CLUSTER", "NODES").splitlines()
        replication = node.cli("INFO", "replication")
        return ("cluster_state:ok" in node.cli("CLUSTER", "INFO") and
                ("role:slave" not in replication or "master_link_status:up" in replication) and
                sum(" master " in l or ",master " in l for l in lines) == masters and
                sum("slave" in l and "connected" in l for l in lines) == masters * replicas)

    @property
    def url(self) -> str:
        return "redis://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:2])

    def owner(self, key: str) -> Redis | None:
        """The master serving `key` as the first node that answers sees it."""
        for node in self.nodes:
            try:
                slot = int(node.cli("CLUSTER", "KEYSLOT", key))
                for line in node.cli("CLUSTER", "NODES").splitlines():
                    parts = line.split()
                    if "master" in parts[2] and "fail" not in parts[2]:
                        for served in parts[8:]:
                            first, _, last = served.partition("-")
                            if first.isdigit() and int(first) <= slot <= int(last or first):
                                port = int(parts[1].split(":")[1].split("@")[0])
                                return next(n for n in self.nodes if n.port == port)
            except subprocess.CalledProcessError:
                continue
        return None

    def stop(self):
        for node in self.nodes:
            node.stop()


def resp(*args: str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def write_config(path: str, ids: list[str], threshold=300, interval=3600, cooldown=1800, sharded=False):
    with open(path, "w") as f:
        f.write(f"offline_threshold_seconds: {threshold}\ncheck_interval_seconds: {interval}\n"
                f"alert_cooldown_seconds: {cooldown}\nagents:\n")
        for agent_id in ids:
            f.write(f"  - id: {agent_id}\n    name: Agent {agent_id}\n")
            if sharded:
                f.write(f'    channel: "{{agents}}:heartbeat:{agent_id}"\n')


def write_burst(path: str, agents: int, total: int, sharded: bool = False):
    """`total` PUBLISH commands (SPUBLISH on shard channels `{agents}:heartbeat:<id>` when `sharded`),
    round-robin over the agents, each payload a typical heartbeat."""
    command, prefix = ("SPUBLISH", "{agents}") if sharded else ("PUBLISH", "agents")
    with open(path, "wb") as f:
        chunk = []
        for n in range(total):
            i = n % agents
            chunk.append(resp(command, f"{prefix}:heartbeat:a{i}", f'{{"status":"ok","signals_sent":{n},"queue":3}}'))
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


class Sidecar:
    def __init__(self, binary: str, config: str, redis: "Redis | Cluster | str", work: str, env: dict | None = None,
                 name="sidecar", log_level="warning"):
        self.http = free_port()
        self.log = open(os.path.join(work, f"{name}-{self.http}.log"), "w")
        environment = dict(os.environ, LUKA_REDIS_URL=redis if isinstance(redis, str) else redis.url,
                           AGENT_HEARTBEAT_HTTP=f"127.0.0.1:{self.http}")
        for key in ["TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL"]:
            environment.pop(key, None)
        environment.update(env or {})
        self.process = subprocess.Popen(
            [binary, "run", "--config", config, "--output", os.path.join(work, f"{name}-{self.http}.json"),
             "--log-level", log_level],
            env=environment, stdout=self.log, stderr=self.log)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:
            return 0, ""

    def wait_ready(self, timeout=120):
        wait_until(lambda: self.get("/readyz")[0] == 200, timeout, "readyz", interval=0.1)

    def metrics(self) -> dict[str, float]:
        values = {}
        for line in self.get("/metrics")[1].splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def received(self) -> int:
        metrics = self.metrics()
        if "agent_heartbeat_heartbeats_total" in metrics:  # every agent; per-agent series stop at 1,000
            return int(metrics["agent_heartbeat_heartbeats_total"])
        return int(sum(v for k, v in metrics.items() if k.startswith("agent_heartbeat_heartbeats_received_total")))

    def rss_mib(self, field: str = "VmRSS") -> float:
        """Resident size now (VmRSS) or at its peak so far (VmHWM)."""
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        fields = open(f"/proc/{self.process.pid}/stat").read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_received(sidecars: list[Sidecar], total: int, stall: float = 10.0) -> float:
    """Polls the sidecars' own counters until each has `total` or they stop moving; returns when the last got there."""
    last_change, counts = time.monotonic(), None
    while True:
        now_counts = [s.received() for s in sidecars]
        if now_counts != counts:
            counts, last_change = now_counts, time.monotonic()
        if all(c >= total for c in counts):
            return time.monotonic()
        if time.monotonic() - last_change > stall:
            return last_change
        time.sleep(0.05)  # /metrics costs the sidecar a little: do not poll it harder


def redis_benchmark(redis: Redis, *args: str) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(redis.port), "--csv", *args], capture_output=True, check=True).stdout.decode()
    rows = [row for row in csv.reader(out.splitlines()) if row and row[0] != "test"]
    return float(rows[-1][1])


class FakeTelegram:
    """A local stand-in for the Bot API that records when each message arrives."""

    def __init__(self):
        self.arrivals: list[tuple[float, str]] = []
        arrivals = self.arrivals

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrivals.append((time.time(), json.loads(body).get("text", "")))
                body = b'{"ok":true,"result":{}}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def reporting_memory(binary: str, redis: Redis, work: str, ids: list[str]) -> tuple[float, float]:
    """RSS between checks and peak of `run` with every agent publishing one heartbeat (3 s interval)."""
    redis.cli("FLUSHALL")
    config = os.path.join(work, "agents-reporting.yaml")
    write_config(config, ids, interval=3)
    sidecar = Sidecar(binary, config, redis, work, name="reporting", log_level="debug")

    def checks():
        return len(re.findall(r"duration_ms=(\d+)", open(sidecar.log.name).read()))
    wait_until(lambda: checks() >= 1, 180, "the first check", interval=0.5)
    burst = os.path.join(work, "reporting.resp")
    with open(burst, "wb") as f:
        for n, agent_id in enumerate(ids):
            f.write(resp("PUBLISH", f"agents:heartbeat:{agent_id}", f'{{"status":"ok","signals_sent":{n},"queue":3}}'))
    redis.pipe(burst)
    wait_until(lambda: f"online={len(ids)}" in open(sidecar.log.name).read(), 180, "every agent online", interval=0.2)
    seen = checks()
    wait_until(lambda: checks() >= seen + 2, 60, "two more checks", interval=0.2)
    time.sleep(1)
    rss, peak = sidecar.rss_mib(), sidecar.rss_mib("VmHWM")
    sidecar.stop()
    return rss, peak


class Publisher:
    """Publishes a heartbeat for one agent every `period` s on every given server until stopped (a
    replica or a cluster node passes PUBLISH on, so whichever is master, the sidecar hears it)."""

    def __init__(self, servers: list[Redis], agent: str, period: float = 0.02):
        import redis as redis_py
        self.clients = [redis_py.Redis(host="127.0.0.1", port=s.port, socket_timeout=0.5) for s in servers]
        self.stop_event = threading.Event()

        def loop():
            while not self.stop_event.is_set():
                for client in self.clients:
                    try:
                        client.publish(f"agents:heartbeat:{agent}", '{"status":"ok"}')
                    except Exception:
                        pass  # the killed one
                self.stop_event.wait(period)
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join()


def stored_at(server: Redis, agent: str) -> int:
    """`received_at_ms` of the agent's key on this server, 0 when absent or unreachable."""
    try:
        value = server.cli("GET", f"{{agents}}:last:{agent}")
    except subprocess.CalledProcessError:
        return 0
    match = re.match(r'\{"received_at_ms":(\d+)', value)
    return int(match.group(1)) if match else 0


def blind_time(binary: str, work: str, url: str, master: Redis, servers: list[Redis], new_master) -> tuple[float, float]:
    """Kills `master` with SIGKILL while a heartbeat is published every 20 ms; returns the seconds until
    `new_master()` names another server (promotion) and until that server holds a heartbeat that
    arrived after the kill (blind time)."""
    config = os.path.join(work, "agents-failover.yaml")
    write_config(config, ["beat"], interval=1)
    sidecar = Sidecar(binary, config, url, work, name="failover")
    sidecar.wait_ready()
    publisher = Publisher(servers, "beat")
    wait_until(lambda: stored_at(master, "beat") > 0, 30, "a heartbeat on the master")
    time.sleep(1)
    killed_ms = int(master.cli("TIME").split()[0]) * 1000 + int(master.cli("TIME").split()[1]) // 1000
    killed = time.monotonic()
    master.stop(signal.SIGKILL)
    promoted = wait_until(lambda: (lambda m: m if m is not None and m is not master else None)(new_master()), 60,
                          "a promotion", interval=0.01)
    promotion = time.monotonic() - killed
    wait_until(lambda: stored_at(promoted, "beat") > killed_ms + int(promotion * 1000), 60, "a heartbeat on the new master",
               interval=0.01)
    blind = time.monotonic() - killed
    publisher.stop()
    sidecar.stop()
    return promotion, blind


def sentinel_blind_time(binary: str, work: str) -> tuple[float, float]:
    master = Redis(work)
    replica = Redis(work, "--replicaof", "127.0.0.1", str(master.port))
    config = (f"sentinel monitor heartbeat 127.0.0.1 {master.port} 2\nsentinel down-after-milliseconds heartbeat 1000\n"
              "sentinel failover-timeout heartbeat 4000\n")
    sentinels = [Redis(work, sentinel_config=config) for _ in range(3)]
    try:
        wait_until(lambda: all(s.cli("SENTINEL", "replicas", "heartbeat").count("127.0.0.1") >= 1 and
                               s.cli("SENTINEL", "sentinels", "heartbeat").count("127.0.0.1") >= 2 for s in sentinels),
                   60, "sentinels that know each other and the replica", interval=0.2)
        url = "redis-sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in sentinels) + "/heartbeat"

        def named():
            port = int(sentinels[0].cli("SENTINEL", "get-master-addr-by-name", "heartbeat").split()[-1])
            return replica if port == replica.port else master
        return blind_time(binary, work, url, master, [master, replica], named)
    finally:
        for server in sentinels + [master, replica]:
            server.stop()


def cluster_blind_time(binary: str, work: str) -> tuple[float, float]:
    cluster = Cluster(work, 3, 1)
    try:
        owner = cluster.owner("{agents}")
        return blind_time(binary, work, cluster.url, owner, cluster.nodes, lambda: cluster.owner("{agents}"))
    finally:
        cluster.stop()


def store_keys(server: Redis, ids: list[str], path: str):
    """A heartbeat key for every agent, one in ten ten minutes old (offline), written with --pipe."""
    now_ms = int(server.cli("TIME").split()[0]) * 1000
    with open(path, "wb") as f:
        for n, agent_id in enumerate(ids):
            age = 600_000 if n % 10 == 0 else 1_000
            f.write(resp("SET", f"{{agents}}:last:{agent_id}", f'{{"received_at_ms":{now_ms - age},'
                         f'"payload":{{"status":"ok","signals_sent":{n},"queue":3}}}}', "EX", "3600"))
    server.pipe(path)


def median_check_ms(sidecar: "Sidecar") -> float:
    """The median of five checks after the first (a single one moved by ±30 ms from run to run), read
    from the sidecar's own "checked" log line: /metrics at 100,000 agents is large, and polling it
    would load the very process being measured."""
    def checks():
        return [int(m) for m in re.findall(r"duration_ms=(\d+)", open(sidecar.log.name).read())]
    wait_until(lambda: len(checks()) >= 6, 180, "six checks", interval=0.5)
    return statistics.median(checks()[1:6])


def bare_mget_ms(server: Redis, ids: list[str], path: str) -> float:
    """The reference: the same keys read with MGET, 1,000 per command, all pipelined by redis-cli (best of 3)."""
    with open(path, "wb") as f:
        for start in range(0, len(ids), 1000):
            f.write(resp("MGET", *(f"{{agents}}:last:{agent_id}" for agent_id in ids[start:start + 1000])))
    return min(server.pipe(path) for _ in range(3)) * 1000


def checking_sidecar(binary: str, target, key_server: Redis, work: str, ids: list[str], name: str):
    """A sidecar checking `ids` every 3 s, their keys stored on `key_server`; returns it and the
    median check time."""
    config = os.path.join(work, f"agents-{name}.yaml")
    write_config(config, ids, interval=3)
    store_keys(key_server, ids, os.path.join(work, f"keys-{name}.resp"))
    sidecar = Sidecar(binary, config, target, work, name=name, log_level="debug")
    return sidecar, median_check_ms(sidecar)


def ingest(sidecar: "Sidecar", server: Redis, burst: str, total: int) -> tuple[float, int]:
    """Pipes the burst into `server`; returns the sidecar's mirrored rate and how many it received."""
    sidecar.wait_ready()
    start = time.monotonic()
    server.pipe(burst)
    done = wait_received([sidecar], total)
    return sidecar.received() / (done - start), sidecar.received()


def history_memory(redis: Redis, work: str, agents: int, changes: int, points: int, metrics: bool) -> tuple[float, float]:
    """Redis memory per agent of a history list of `changes` state changes and of a series list of
    `points` per-minute points (the interval, and two declared metrics if `metrics`), written in the
    format of the sidecar's scripts (`record_history`, `mirror_heartbeat`): used_memory before and after."""
    def used() -> int:
        info = redis.cli("INFO", "memory")
        return int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory:")))

    redis.cli("FLUSHALL")
    now = int(time.time() * 1000)
    path = os.path.join(work, "history.resp")
    before = used()
    with open(path, "wb") as f:
        for index in range(agents):
            key = f"{{agents}}:history:agent-{index:06d}"
            for change in range(changes):
                at = now - (changes - change) * 43_200_000 + index
                to, came = ("offline", "online") if change % 2 else ("online", "offline")
                reason = "no heartbeat for more than 300s (its offline threshold)" if to == "offline" else "heartbeat received"
                f.write(resp("RPUSH", key, f"{at}|{at + 30_000}|{came if change else ''}|{to}|{reason}"))
    redis.pipe(path)
    history = (used() - before) / agents
    before = used()
    minute = now // 60_000
    extra = "|response_time_ms=123.4,98.1,250.7|error_rate=0.012,0,0.031" if metrics else ""
    with open(path, "wb") as f:
        for index in range(agents):
            key = f"{{agents}}:series:agent-{index:06d}"
            for point in range(points):
                f.write(resp("RPUSH", key, f"{minute - points + point}|0=30.012,29.987,30.04{extra}"))
    redis.pipe(path)
    return history, (used() - before) / agents


def first_paint_ms(page: str, timeout: float = 30) -> float:
    """Loads `page` in headless Chromium in real time (virtual time would hide the work) and returns
    the milliseconds from navigation to the console line the dashboard logs once its agents are on
    screen. Remote debugging keeps the headless browser open after the load event."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr",
         "--v=0", "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1200,900", page],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        for line in browser.stderr:
            match = re.search(r"agent-heartbeat first paint ms (\d+) agents", line)
            if match:
                return float(match.group(1))
            if time.monotonic() > deadline:
                break
        raise RuntimeError("the dashboard logged no first paint")
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--heartbeats", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--check-agents", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--memory-agents", type=int, default=10_000)
    parser.add_argument("--paint-agents", type=int, default=10_000)
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9")
    args = parser.parse_args()
    only = set(args.only.split(","))
    work = tempfile.mkdtemp(prefix="agent-heartbeat-bench-")
    redis = Redis(work)
    rows = []

    def row(scenario, figure, reference="", ratio="", goal="", met=""):
        rows.append((scenario, figure, reference, ratio, goal, met))
        print(f"  {scenario}: {figure} | {reference} | {ratio} | {goal} | {met}", file=sys.stderr, flush=True)

    ids = [f"a{i}" for i in range(args.agents)]
    config = os.path.join(work, "agents.yaml")
    write_config(config, ids)
    burst = os.path.join(work, "burst.resp")
    if only & {"1", "5"}:
        write_burst(burst, args.agents, args.heartbeats)

    try:
        if "1" in only:
            print("1. ingest", file=sys.stderr)
            set_rate = redis_benchmark(redis, "-c", "1", "-P", "16", "-n", str(args.heartbeats), "-r", str(args.agents),
                                       # A value as long as a heartbeat (redis-benchmark's CSV cannot quote JSON).
                                       "SET", "bench:__rand_int__", "x" * 42, "EX", "600")
            redis.cli("FLUSHALL")
            sidecar = Sidecar(args.binary, config, redis, work)
            sidecar.wait_ready()
            start = time.monotonic()
            publish_seconds = redis.pipe(burst)
            done = wait_received([sidecar], args.heartbeats)
            received = sidecar.received()
            rate = received / (done - start)
            sidecar.stop()

            ready = os.path.join(work, "peer.ready")
            peer = subprocess.Popen([sys.executable, os.path.join(ROOT, "Benchmarks", "python_peer.py"), "--port", str(redis.port),
                                     "--agents", str(args.agents), "--expect", str(args.heartbeats), "--ready-file", ready],
                                    stdout=subprocess.PIPE)
            wait_until(lambda: os.path.exists(ready), 60, "python peer")
            start = time.monotonic()
            redis.pipe(burst)
            peer_result = json.loads(peer.communicate(timeout=600)[0])
            peer_rate = peer_result["received"] / peer_result["seconds"] if peer_result["seconds"] else 0
            row("1 ingest: mirrored/s, one replica", f"{rate:,.0f}/s ({args.heartbeats - received} lost; publisher took {publish_seconds:.2f} s)",
                f"SET -c1 -P16: {set_rate:,.0f}/s", f"{rate / set_rate:.2f}×", "≥ 0.8×", "yes" if rate >= 0.8 * set_rate else "no")
            row("1 ingest: vs Python peer", f"{rate:,.0f}/s",
                f"Python peer: {peer_rate:,.0f}/s ({args.heartbeats - peer_result['received']} lost)", f"{rate / peer_rate:.1f}×" if peer_rate else "",
                "≥ 3×", "yes" if peer_rate and rate >= 3 * peer_rate else "no")

        if "2" in only or "3" in only:
            print("2./3. check cycle and memory", file=sys.stderr)
            redis.cli("FLUSHALL")
            big_ids = [f"a{i:012d}" for i in range(args.check_agents)]
            sidecar, check_ms = checking_sidecar(args.binary, redis, redis, work, big_ids, "big")
            # Between checks (interval 3 s, a check about 0.5 s): what the replica holds, and its peak.
            time.sleep(1)
            big_rss = sidecar.rss_mib()
            big_peak = sidecar.rss_mib("VmHWM")
            sidecar.stop()
            bare_ms = bare_mget_ms(redis, big_ids, os.path.join(work, "mget.resp"))
            if "2" in only:
                row(f"2 check: {args.check_agents:,} agents", f"{check_ms:.0f} ms", f"bare MGET round trips: {bare_ms:.0f} ms",
                    f"{check_ms / bare_ms:.1f}×", "≤ 250 ms", "yes" if check_ms <= 250 else "no")
            if "3" in only:
                redis.cli("FLUSHALL")
                small = Sidecar(args.binary, os.path.join(ROOT, "agents.yaml"), redis, work, name="small")
                small.wait_ready()
                time.sleep(2)  # let start-up settle before measuring idle use
                cpu_start = small.cpu_seconds()
                time.sleep(args.idle_seconds)
                idle_cpu = small.cpu_seconds() - cpu_start
                small_rss = small.rss_mib()
                small.stop()
                row("3 memory: RSS, 4 agents idle", f"{small_rss:.1f} MiB")
                row(f"3 memory: RSS, {args.check_agents:,} silent agents after a check", f"{big_rss:.1f} MiB (peak {big_peak:.1f} MiB)",
                    "", "", "≤ 64 MiB (peak ≤ 96)", "yes" if big_rss <= 64 and big_peak <= 96 else "no")
                rss, peak = reporting_memory(args.binary, redis, work, big_ids)
                row(f"3 memory: RSS, {args.check_agents:,} agents that all report, between checks", f"{rss:.1f} MiB (peak {peak:.1f} MiB)",
                    "", "", "≤ 64 MiB (peak ≤ 96)", "yes" if rss <= 64 and peak <= 96 else "no")
                row(f"3 idle CPU over {args.idle_seconds} s, 4 agents", f"{idle_cpu:.2f} CPU-seconds")

        if "4" in only:
            print("4. detection latency", file=sys.stderr)
            redis.cli("FLUSHALL")
            telegram = FakeTelegram()
            latency_config = os.path.join(work, "agents-latency.yaml")
            # One agent per measurement: the policy allows one offline notification per cooldown.
            watched = ["w0", "w1", "w2"]
            write_config(latency_config, watched, threshold=2, interval=1, cooldown=600)
            sidecar = Sidecar(args.binary, latency_config, redis, work, name="latency", env={
                "TELEGRAM_BOT_TOKEN": "0:bench", "TELEGRAM_CHAT_ID": "1", "TELEGRAM_API_URL": telegram.url})
            sidecar.wait_ready()
            # Every watched agent beats every 0.5 s until it is released; then its last heartbeat
            # to its own alert is measured (an agent never heard from is alerted too, a threshold
            # after monitoring began, so each must be alive first).
            beating, last_beats, stop = set(watched), {}, threading.Event()

            def beat():
                while not stop.is_set():
                    for agent in list(beating):
                        redis.cli("PUBLISH", f"agents:heartbeat:{agent}", '{"status":"ok"}')
                        last_beats[agent] = time.time()
                    stop.wait(0.5)

            beater = threading.Thread(target=beat, daemon=True)
            beater.start()
            time.sleep(1)
            latencies = []
            for agent in watched:
                beating.discard(agent)
                wait_until(lambda: any(f"<code>{agent}</code>" in body for _, body in telegram.arrivals), 30, "alert")
                arrived = next(at for at, body in telegram.arrivals if f"<code>{agent}</code>" in body)
                latencies.append(arrived - last_beats[agent])
            stop.set()
            beater.join()
            sidecar.stop()
            worst = max(latencies)
            row("4 detection: last heartbeat → alert", f"{worst:.2f} s worst of 3 (" + ", ".join(f"{l:.2f}" for l in latencies) + ")",
                "threshold 2 s + interval 1 s", "", "≤ 4 s", "yes" if worst <= 4 else "no")

        if "5" in only:
            print("5. three replicas", file=sys.stderr)
            redis.cli("FLUSHALL")
            replicas = [Sidecar(args.binary, config, redis, work, name=f"replica{i}") for i in range(3)]
            for replica in replicas:
                replica.wait_ready()
            before = redis.commandstats()
            start = time.monotonic()
            redis.pipe(burst)
            done = wait_received(replicas, args.heartbeats)
            received = [r.received() for r in replicas]
            after = redis.commandstats()
            for replica in replicas:
                replica.stop()
            writes = after.get("evalsha", 0) - before.get("evalsha", 0)
            lost = sum(args.heartbeats - r for r in received)
            row("5 three replicas: ingest", f"{min(received) / (done - start):,.0f}/s each; {lost} lost",
                f"{writes:,} key writes for {args.heartbeats:,} heartbeats × 3", f"{writes / (3 * args.heartbeats):.3f} writes per heartbeat per replica")
        if "6" in only:
            print("6. failover blind time", file=sys.stderr)
            for name, measure in [("Sentinel", sentinel_blind_time), ("Cluster", cluster_blind_time)]:
                promotion, blind = measure(args.binary, work)
                row(f"6 failover, {name}: master killed → first heartbeat mirrored on the new master", f"{blind:.2f} s",
                    f"promotion: {promotion:.2f} s", f"+{blind - promotion:.2f} s", "≤ promotion + 5 s",
                    "yes" if blind <= promotion + 5 else "no")

        if "7" in only:
            print("7. cluster", file=sys.stderr)
            cluster = Cluster(work, 3, 0)
            try:
                owner = cluster.owner("{agents}")
                sidecar = Sidecar(args.binary, config, cluster, work, name="cluster-ingest")
                sidecar.wait_ready()
                if not os.path.exists(burst):
                    write_burst(burst, args.agents, args.heartbeats)
                cpu_before = owner.cpu_seconds()
                start = time.monotonic()
                other = next(n for n in cluster.nodes if n is not owner)
                other.pipe(burst)  # published on another node: the cluster bus carries it to the sidecar's
                done = wait_received([sidecar], args.heartbeats)
                received = sidecar.received()
                owner_cpu = owner.cpu_seconds() - cpu_before
                sidecar.stop()
                row("7 cluster ingest: mirrored/s, one replica, 3 masters", f"{received / (done - start):,.0f}/s "
                    f"({args.heartbeats - received} lost)", "standalone: row 1", "", "", "")
                # The same burst on shard channels, SPUBLISHed at the owner: no cluster bus broadcast.
                sharded_config = os.path.join(work, "agents-sharded.yaml")
                write_config(sharded_config, ids, sharded=True)
                sharded_burst = os.path.join(work, "burst-sharded.resp")
                write_burst(sharded_burst, args.agents, args.heartbeats, sharded=True)
                sidecar = Sidecar(args.binary, sharded_config, cluster, work, name="cluster-sharded")
                sharded_rate, sharded_received = ingest(sidecar, owner, sharded_burst, args.heartbeats)
                sidecar.stop()
                row("7 cluster ingest, sharded pub/sub (SPUBLISH at the owner)",
                    f"{sharded_rate:,.0f}/s ({args.heartbeats - sharded_received} lost)", "PUBLISH: the row above")
                row("7 cluster: CPU of the slot's owner per heartbeat", f"{owner_cpu / received * 1e6:.1f} µs "
                    f"({received / owner_cpu:,.0f} heartbeats per CPU-second)" if received else "-")

                big_ids = [f"a{i:012d}" for i in range(args.check_agents)]
                sidecar, check_ms = checking_sidecar(args.binary, cluster, owner, work, big_ids, "cluster-big")
                sidecar.stop()
                bare_ms = bare_mget_ms(owner, big_ids, os.path.join(work, "cluster-mget.resp"))
                row(f"7 cluster check: {args.check_agents:,} agents", f"{check_ms:.0f} ms",
                    f"bare MGET round trips on the owner: {bare_ms:.0f} ms", f"{check_ms / bare_ms:.1f}×")
            finally:
                cluster.stop()

        if "8" in only:
            print("8. history and series memory per agent", file=sys.stderr)
            # A steady agent, and a busy one: two outages a day for the default 30 days.
            for changes, points, metrics in [(1, 60, False), (60, 60, True), (60, 360, True)]:
                history, series = history_memory(redis, work, args.memory_agents, changes, points, metrics)
                row(f"8 Redis memory per agent: history of {changes} state change{'s' if changes > 1 else ''}",
                    f"{history:,.0f} bytes", f"{args.memory_agents:,} agents, used_memory")
                row(f"8 Redis memory per agent: series of {points} points, the interval"
                    + (" and two metrics" if metrics else ""), f"{series:,.0f} bytes", f"{args.memory_agents:,} agents")
        if "9" in only:
            print("9. dashboard first paint", file=sys.stderr)
            redis.cli("FLUSHALL")
            paint_ids = [f"agent-{i:05d}" for i in range(args.paint_agents)]
            paint_config = os.path.join(work, "agents-paint.yaml")
            write_config(paint_config, paint_ids)
            store_keys(redis, paint_ids, os.path.join(work, "paint.resp"))
            sidecar = Sidecar(args.binary, paint_config, redis, work, name="paint")
            wait_until(lambda: sidecar.get("/api/v1/agents?limit=1")[0] == 200, 60, "a first check", interval=0.1)
            page = f"http://127.0.0.1:{sidecar.http}/"
            paints = sorted(first_paint_ms(page) for _ in range(5))
            sidecar.stop()
            row(f"9 dashboard first paint, {args.paint_agents:,} agents, headless Chromium",
                f"{paints[0]:.0f} ms best, {paints[2]:.0f} ms median of 5", "navigation to rows on screen, fetch included",
                "", "< 1 s", "yes" if paints[2] < 1000 else "no")
    finally:
        redis.stop()

    print()
    print(f"agent-heartbeat benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB")
    print()
    print("| scenario | figure | reference | ratio | goal | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
