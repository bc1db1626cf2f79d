"""gzip on and off over a real network link, shaped with tc (issue 17).

On loopback kinspect asks for no compression. Whether it pays over a network depends on the
link, so this measures it: a network namespace of our own joined to this one by a veth pair,
each end shaped with `tc qdisc … netem delay D rate R`, or, on a kernel built without netem
(this machine's: CONFIG_NET_SCH_NETEM is not set), `tc qdisc … tbf rate R` with no added
delay (a LIST is one request either way: delay adds the same round trips with gzip on or
off, while rate decides what compression saves). Two TCP relays let kinspect,
run inside the namespace, reaches the API server through the link while still connecting to
127.0.0.1:PORT (the kubeconfig's server, whose certificate names it):

    kinspect ─ 127.0.0.1:PORT (relay in the namespace) ═ veth, netem ═ 169.254.77.1:PORT
    (relay here) ─ 127.0.0.1:PORT, the API server

Nothing but the two relays and the API server's own loopback port is dialed. For each link and
each of KINSPECT_GZIP=0 and =1 it prints the median wall time of `kinspect map -A -o json`
and the bytes that crossed the link. Needs root (ip netns, tc); says so and exits 0 without it.

    python bench/gzip_link.py --kubeconfig KC [--runs 3] [--link 1gbit:1ms --link 100mbit:20ms]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

HERE_IP, THERE_IP = "169.254.77.1", "169.254.77.2"


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: list[int]
) -> None:
    try:
        while chunk := await reader.read(1 << 18):
            count[0] += len(chunk)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _relay(listen: tuple[str, int], target: tuple[str, int], count: list[int]) -> None:
    async def one(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            tr, tw = await asyncio.open_connection(*target)
        except OSError:
            w.close()
            return
        await asyncio.gather(_pipe(r, tw, [0]), _pipe(tr, w, count))

    server = await asyncio.start_server(one, *listen)
    async with server:
        await server.serve_forever()


def _relay_thread(listen: tuple[str, int], target: tuple[str, int], count: list[int]) -> None:
    threading.Thread(target=lambda: asyncio.run(_relay(listen, target, count)), daemon=True).start()


class Link:
    """A network namespace and a veth pair into it, both ends shaped by netem."""

    def __init__(self, port: int) -> None:
        tag = os.getpid() % 100000
        self.ns, self.here, self.there = f"kinspect-netem-{tag}", f"kn{tag}a", f"kn{tag}b"
        self.port = port
        self.received = [0]  # bytes from the API server into the link
        self.relay: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Link:
        _sh("ip", "netns", "add", self.ns)
        try:
            _sh("ip", "link", "add", self.here, "type", "veth", "peer", "name", self.there)
            _sh("ip", "link", "set", self.there, "netns", self.ns)
            _sh("ip", "addr", "add", f"{HERE_IP}/30", "dev", self.here)
            _sh("ip", "link", "set", self.here, "up")
            inside = ("ip", "netns", "exec", self.ns)
            _sh(*inside, "ip", "addr", "add", f"{THERE_IP}/30", "dev", self.there)
            _sh(*inside, "ip", "link", "set", self.there, "up")
            _sh(*inside, "ip", "link", "set", "lo", "up")
            _relay_thread((HERE_IP, self.port), ("127.0.0.1", self.port), self.received)
            self.relay = subprocess.Popen(
                [*inside, sys.executable, __file__, "--relay", str(self.port)]
            )
            time.sleep(1)  # both relays listening
        except BaseException:
            self.__exit__()
            raise
        return self

    def shape(self, rate: str, delay: str) -> str:
        """Shape both ends; say how (netem with the delay, or tbf without when netem is absent)."""
        how = "netem"
        for prefix, dev in (((), self.here), (("ip", "netns", "exec", self.ns), self.there)):
            tc = (*prefix, "tc", "qdisc", "replace", "dev", dev, "root")
            netem = ("netem", "delay", delay, "rate", rate, "limit", "100000")
            if (
                how == "netem"
                and subprocess.run([*tc, *netem], check=False, capture_output=True).returncode == 0
            ):
                continue
            how = "tbf"
            # burst: a tenth of a second at the rate, so a fast link is not held to the
            # kernel's timer; latency: how long a packet may wait in the queue.
            burst = max(_bits(rate) // 80, 65536)
            _sh(*tc, "tbf", "rate", rate, "burst", str(burst), "latency", "200ms")
        return how

    def __exit__(self, *_: object) -> None:
        if self.relay is not None:
            self.relay.kill()
            self.relay.wait()
        subprocess.run(["ip", "link", "del", self.here], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], check=False, capture_output=True)


def _bits(rate: str) -> int:
    """`100mbit` → 100,000,000 (tc's units)."""
    units = {"gbit": 10**9, "mbit": 10**6, "kbit": 10**3, "bit": 1}
    for unit, factor in units.items():
        if rate.endswith(unit):
            return int(float(rate[: -len(unit)]) * factor)
    raise SystemExit(f"gzip_link: a rate like 100mbit, not {rate!r}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--link", action="append", help="RATE:DELAY, e.g. 100mbit:20ms")
    ap.add_argument("--relay", type=int, help=argparse.SUPPRESS)  # the namespace's relay
    a = ap.parse_args()
    if a.relay:
        asyncio.run(_relay(("127.0.0.1", a.relay), (HERE_IP, a.relay), [0]))
        return
    links = a.link or ["1gbit:1ms", "100mbit:20ms"]
    if os.geteuid() != 0 or not shutil.which("tc") or not shutil.which("ip"):
        print("\ngzip over a link: skipped (needs root, ip and tc)")
        return
    cfg = yaml.safe_load(Path(a.kubeconfig).read_text())
    server = urlsplit(cfg["clusters"][0]["cluster"]["server"])
    if server.hostname != "127.0.0.1" or not server.port:
        sys.exit(f"gzip_link: the API server must be on 127.0.0.1:PORT, not {server.geturl()}")
    kinspect = str(Path(sys.executable).with_name("kinspect"))
    rows = []
    with Link(server.port) as link:
        for given in links:
            rate, delay = given.split(":")
            how = link.shape(rate, delay)
            spec = given if how == "netem" else f"{rate}:0 (tbf, no netem in this kernel)"
            for gz in ("0", "1"):
                times, sizes = [], []
                for i in range(a.runs + 1):  # the first is a warm-up
                    before = link.received[0]
                    t = time.monotonic()
                    inside = ["ip", "netns", "exec", link.ns, "env", f"KINSPECT_GZIP={gz}"]
                    args = ["map", "-A", "-o", "json", "--kubeconfig", a.kubeconfig]
                    proc = subprocess.run(
                        [*inside, kinspect, *args, "--request-timeout", "600"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                        check=False,
                    )
                    dt = time.monotonic() - t
                    if proc.returncode != 0:
                        sys.exit(
                            f"gzip_link: kinspect exited {proc.returncode}: {proc.stderr[-500:]}"
                        )
                    if i:
                        times.append(dt)
                        sizes.append(link.received[0] - before)
                rows.append((spec, gz, times, statistics.median(sizes)))
                print(
                    f"gzip_link: {spec} gzip={gz}: {[round(t, 2) for t in times]}", file=sys.stderr
                )
    print(f"\ngzip over a link (`kinspect map -A -o json`, median of {a.runs}):\n")
    print("| link (rate, one-way delay) | gzip | wall (median) | runs | bytes over the link |")
    print("|---|---|---|---|---|")
    for spec, gz, times, size in rows:
        rate, delay = spec.split(":", 1)
        print(
            f"| {rate}, {delay} | {'on' if gz == '1' else 'off'} | {statistics.median(times):.2f} s"
            f" | {', '.join(f'{t:.2f}' for t in times)} | {size / 1e6:,.1f} MB |"
        )
    print(json.dumps({"netem": [[s, g, t, z] for s, g, t, z in rows]}), file=sys.stderr)


if __name__ == "__main__":
    main()
