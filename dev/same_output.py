"""`make same-output BASE=REV`: a refactor proves it changed nothing a user can see.

Every command of `commands()` runs twice against the same test bed: once with the tree at BASE
(a git worktree in a temporary folder) and once with this tree, both through the same Python
and dependencies. Their stdout, stderr, exit status and the files they write are compared after
`normalise` (timestamps, and the folder each run writes into). Prints one line per command and
a summary; exits 0 when every file is identical, 1 when any differs (with the first lines of
each difference), 2 on a usage or setup problem.

Two kinds of input, so both halves of the code are covered:
- live reads of the test bed (wire, paging, the watch-free commands against a real API server);
- one snapshot file, saved once by this tree and then read by both (`--snapshot`), so commands
  that depend on no live state compare on exactly the same objects.

The test bed must be quiet while it runs (no other tests applying objects): two reads of a
namespace that is still changing differ for reasons no refactor caused.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS = "demo"
# The environment of every run: no colour, a fixed width, no terminal (pipes), no user config.
FIXED_ENV = {"COLUMNS": "120", "LINES": "40", "TERM": "dumb", "NO_COLOR": "1", "TZ": "UTC"}

# What legitimately differs between two runs a few seconds apart.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_EPOCH = re.compile(r"\b1[6-9]\d{8}(?:\.\d+)?\b")  # seconds since 1970, 2020..2033
_JUNIT_TIME = re.compile(r'time="[0-9.]+"')


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]
    files: tuple[str, ...] = ()  # files the command writes (relative to its run folder)
    # --watch runs until interrupted: Ctrl-C after this many seconds (its first sync is done).
    interrupt_after: float | None = None


def commands(a: dict[str, str], snap: str, has_dot: bool) -> list[Command]:
    """Every command and format, with the demo's addresses (`a`) and a shared snapshot file."""
    ns = ("-n", NS)
    out: list[Command] = []

    def add(
        name: str, *argv: str, files: tuple[str, ...] = (), interrupt: float | None = None
    ) -> None:
        out.append(Command(name, tuple(argv), files, interrupt))

    add("version", "--version")
    add("help", "--help")
    for sub in ("map", "ips", "trace", "policy", "explain", "diff", "audit", "ui", "snapshot"):
        add(f"help-{sub}", sub, "--help")
    add("snapshot-save-help", "snapshot", "save", "--help")
    # map: every format, a service, a selector, all namespaces, the entry points.
    for fmt in ("table", "wide", "tree", "json", "yaml", "dot", "mermaid"):
        add(f"map-{fmt}", "map", *ns, "-o", fmt)
    if has_dot:
        add("map-svg", "map", *ns, "-o", "svg")
    add("map-service", "map", "web", *ns)
    add("map-service-tree", "map", "web", *ns, "-o", "tree")
    add("map-selector", "map", *ns, "-l", "app=web", "-o", "wide")
    add("map-all", "map", "-A")
    add("map-all-json", "map", "-A", "-o", "json")
    add("map-entrypoints", "map", *ns, "--entrypoints")
    add("map-entrypoints-json", "map", *ns, "--entrypoints", "-o", "json")
    add("map-entrypoints-all", "map", "-A", "--entrypoints")
    # ips
    for fmt in ("text", "json", "yaml"):
        add(f"ips-{fmt}", "ips", "-o", fmt)
    add("ips-ns", "ips", *ns)
    # trace: every kind of address, with and without a port, URLs, --from.
    web = a["web_cluster_ip"]
    add("trace-clusterip", "trace", f"{web}:80")
    add("trace-clusterip-json", "trace", f"{web}:80", "-o", "json")
    add("trace-clusterip-yaml", "trace", f"{web}:80", "-o", "yaml")
    add("trace-clusterip-noport", "trace", web)
    add("trace-nodeport", "trace", "192.0.2.10:30080")
    add("trace-node", "trace", a["node_ip"])
    add("trace-node-port", "trace", f"{a['node_ip']}:30080")
    add("trace-pod", "trace", a["web_a_ip"])
    add("trace-pod-port", "trace", f"{a['web_a_ip']}:8080")
    add("trace-lb", "trace", "203.0.113.10:80", *ns)
    add("trace-unknown", "trace", "198.51.100.77:80")
    add("trace-dns", "trace", f"{a['dns_cluster_ip']}:53")
    add("trace-dns-udp", "trace", f"{a['dns_cluster_ip']}:53/UDP", "-o", "json")
    add("trace-url", "trace", "http://shop.example.com/api/orders", *ns)
    add("trace-url-json", "trace", "http://shop.example.com/api/orders", *ns, "-o", "json")
    add(
        "trace-host-path",
        "trace",
        "203.0.113.20:443",
        "--host",
        "shop.example.com",
        "--path",
        "/api/health",
        *ns,
    )
    add("trace-gateway", "trace", "http://store.example.net/api/orders", *ns)
    add("trace-gateway-json", "trace", "http://store.example.net/api/orders", *ns, "-o", "json")
    add(
        "trace-gateway-broken",
        "trace",
        "203.0.113.30:80",
        "--host",
        "broken.example.net",
        "--path",
        "/api",
        *ns,
    )
    add("trace-url-nohost", "trace", "http://nowhere.example.org/", *ns)
    add("trace-from-pod", "trace", f"{web}:80", "--from", f"{NS}/shop-0")
    add("trace-from-pod-json", "trace", f"{web}:80", "--from", f"{NS}/shop-0", "-o", "json")
    add("trace-from-namespace", "trace", f"{web}:80", "--from", NS)
    add("trace-from-outside", "trace", "192.0.2.10:30080", "--from", "outside")
    add("trace-from-node", "trace", f"{web}:80", "--from", "node/kwok-node-0")
    add("trace-from-ip", "trace", f"{web}:80", "--from", "198.51.100.5")
    add(
        "trace-url-from",
        "trace",
        "http://shop.example.com/api/orders",
        *ns,
        "--from",
        f"{NS}/web-a",
    )
    add(
        "trace-url-from-json",
        "trace",
        "http://shop.example.com/api/orders",
        *ns,
        "--from",
        "outside",
        "-o",
        "json",
    )
    # policy
    add("policy-pod", "policy", f"{NS}/web-a")
    add("policy-pod-json", "policy", f"{NS}/web-a", "-o", "json")
    add("policy-service", "policy", f"{NS}/web:80")
    add("policy-matrix", "policy", "--matrix", *ns)
    add("policy-matrix-json", "policy", "--matrix", *ns, "-o", "json")
    add("policy-matrix-port", "policy", "--matrix", *ns, "--port", "8080")
    add("policy-missing", "policy", f"{NS}/no-such-pod")
    # explain
    add("explain", "explain", *ns)
    add("explain-all", "explain", "-A")
    # audit: six formats, all namespaces, a failing threshold.
    for fmt in ("text", "json", "markdown", "html", "junit", "prometheus"):
        add(f"audit-{fmt}", "audit", *ns, "-o", fmt)
    add("audit-all-json", "audit", "-A", "-o", "json")
    out_file = ("-o", "json", "--output-file")
    add("audit-to-file", "audit", *ns, *out_file, "audit.json", files=("audit.json",))
    add("audit-fail-on", "audit", *ns, "--fail-on", "warning")
    add("audit-ignore", "audit", *ns, "--ignore", "service-no-endpoints,probe-numeric-port")
    # snapshot save, then diff of snapshots, of a snapshot against live, of audit reports
    add("snapshot-save", "snapshot", "save", "demo.json", *ns, files=("demo.json",))
    add("snapshot-save-all", "snapshot", "save", "all.json.gz", files=("all.json.gz",))
    for fmt in ("text", "json", "yaml", "markdown"):
        add(f"diff-snapshots-{fmt}", "diff", "demo.json", "all.json.gz", "-o", fmt)
    add("diff-snapshot-live", "diff", "demo.json", "live", *ns)
    add("audit-all-file", "audit", "-A", *out_file, "audit-all.json", files=("audit-all.json",))
    add("audit-baseline", "audit", "-A", "-o", "markdown", "--baseline", "audit.json")
    add("diff-audits", "diff", "audit.json", "audit-all.json")
    add("diff-audits-md", "diff", "audit.json", "audit-all.json", "-o", "markdown")
    # --watch: the first sync's events (JSON Lines) and lines, then Ctrl-C
    add("map-watch-json", "map", *ns, "--watch", "-o", "json", interrupt=5.0)
    add("map-watch-lines", "map", *ns, "--watch", interrupt=5.0)
    add("trace-watch", "trace", f"{web}:80", "--watch", interrupt=5.0)
    # the shared snapshot (the same bytes for both trees)
    s = ("--snapshot", snap)
    add("snap-map", "map", *s, *ns, "-o", "wide")
    add("snap-map-json", "map", *s, "-A", "-o", "json")
    add("snap-map-entrypoints", "map", *s, "-A", "--entrypoints")
    add("snap-ips", "ips", *s, "-o", "json")
    add("snap-trace", "trace", *s, f"{web}:80", "--from", f"{NS}/shop-0")
    add("snap-trace-url", "trace", *s, "http://store.example.net/api/orders", "-A")
    add("snap-explain", "explain", *s, *ns)
    add("snap-audit-md", "audit", *s, "-A", "-o", "markdown")
    add("snap-audit-html", "audit", *s, "-A", "-o", "html")
    # errors: exit codes and one-line messages
    add("err-namespace", "map", "-n", "no-such-namespace")
    add("err-format", "map", *ns, "-o", "bogus")
    add("err-context", "map", "--context", "no-such-context")
    add("err-kubeconfig", "map", "--kubeconfig", "/nonexistent/kubeconfig")
    add("err-address", "trace", "not-an-address:99999")
    add("err-snapshot", "map", "--snapshot", "/nonexistent/snap.json")
    add("err-diff", "diff", "/nonexistent/a.json", "live")
    add("err-flag", "audit", "--no-such-flag")
    return out


def normalise(text: str, run_dir: Path) -> str:
    """What differs between two runs that no code change caused: times and the run's folder."""
    text = text.replace(str(run_dir), "<RUN>")
    text = _TIMESTAMP.sub("<TIME>", text)
    text = _JUNIT_TIME.sub('time="<T>"', text)
    return _EPOCH.sub("<EPOCH>", text)


def _sh(*argv: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        argv, check=True, capture_output=True, text=True, env=env, timeout=600
    ).stdout


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """The tree at `rev`, checked out beside this one; removed afterwards."""
    where = Path(tempfile.mkdtemp(prefix="kinspect-same-output-"))
    shutil.rmtree(where)
    _sh("git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev)
    try:
        yield where
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)],
            check=False,
            capture_output=True,
        )


def testbed(env: dict[str, str]) -> dict[str, str]:
    """Start the test bed (or reuse it), apply the demo, wait for it; return the environment."""
    if "KINSPECT_E2E_CONTEXT" in os.environ:
        return env
    kc = _sh(str(ROOT / "testbed/cluster.sh"), "up", env=env).strip().splitlines()[-1]
    env = {**env, "KUBECONFIG": kc}
    _sh(str(ROOT / "testbed/crds.sh"), env=env)
    _sh(str(ROOT / "examples/apply.sh"), NS, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready = _sh(
            "kubectl",
            "get",
            "endpointslices",
            "-n",
            NS,
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}"
            "{.addresses[0]}{' '}{end}",
            env=env,
        ).split()
        if len(ready) >= 2:
            return env
        time.sleep(0.5)
    raise SystemExit("same-output: the demo's web service has no 2 ready endpoints after 120 s")


def addresses(env: dict[str, str]) -> dict[str, str]:
    def get(*argv: str) -> str:
        return _sh("kubectl", "get", *argv, env=env).strip()

    return {
        "web_cluster_ip": get("svc", "web", "-n", NS, "-o", "jsonpath={.spec.clusterIP}"),
        "dns_cluster_ip": get("svc", "dns", "-n", NS, "-o", "jsonpath={.spec.clusterIP}"),
        "web_a_ip": get("pod", "web-a", "-n", NS, "-o", "jsonpath={.status.podIP}"),
        "node_ip": get(
            "node",
            "kwok-node-0",
            "-o",
            "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}",
        ),
    }


def run_all(tree: Path, cmds: list[Command], out: Path, env: dict[str, str]) -> None:
    """Run every command with the package of `tree`; write NAME.{stdout,stderr,rc,files}."""
    env = {**env, **FIXED_ENV, "PYTHONPATH": str(tree)}
    out.mkdir(parents=True)
    work = out / "run"
    work.mkdir()
    check = subprocess.run(
        [sys.executable, "-c", "import kinspect; print(kinspect.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not check.startswith(str(tree)):
        raise SystemExit(f"same-output: {tree} runs kinspect from {check}; is it installed?")
    for c in cmds:
        stdout, stderr, rc = _run(c, work, env)
        (out / f"{c.name}.stdout").write_text(normalise(stdout, work))
        (out / f"{c.name}.stderr").write_text(normalise(stderr, work))
        (out / f"{c.name}.rc").write_text(f"{rc}\n")
        for f in c.files:
            path = work / f
            body = _file_text(path) if path.exists() else "<not written>\n"
            (out / f"{c.name}.file.{f}").write_text(normalise(body, work))


def _run(c: Command, work: Path, env: dict[str, str]) -> tuple[str, str, int]:
    argv = [sys.executable, "-m", "kinspect", *c.argv]
    if c.interrupt_after is None:
        p = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        return p.stdout, p.stderr, p.returncode
    with subprocess.Popen(
        argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        time.sleep(c.interrupt_after)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        return stdout, stderr, proc.returncode


def _file_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        data = gzip.decompress(data)
    text = data.decode()
    if path.suffix in (".json", ".gz"):
        # Snapshot files are one JSON document: compare them re-indented, line by line.
        return json.dumps(json.loads(text), indent=1, sort_keys=True) + "\n"
    return text


def compare(old: Path, new: Path) -> list[str]:
    names = sorted(
        {p.name for p in old.iterdir() if p.is_file()}
        | {p.name for p in new.iterdir() if p.is_file()}
    )
    differ: list[str] = []
    for name in names:
        a, b = old / name, new / name
        ta = a.read_text() if a.exists() else "<missing>\n"
        tb = b.read_text() if b.exists() else "<missing>\n"
        if ta != tb:
            differ.append(name)
            diff = difflib.unified_diff(
                ta.splitlines(), tb.splitlines(), f"base/{name}", f"this/{name}", lineterm="", n=1
            )
            print("\n".join(list(diff)[:40]))
    print(f"same-output: {len(names)} files compared, {len(differ)} differ")
    return differ


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the revision to compare with (a commit, tag)")
    ap.add_argument(
        "--keep",
        type=Path,
        default=ROOT / ".same-output",
        help="where both runs' outputs are kept (default .same-output/)",
    )
    ap.add_argument("--only", metavar="REGEX", help="run only the commands whose name matches")
    args = ap.parse_args()
    env = dict(os.environ)
    cache = Path(env.get("KINSPECT_CACHE", Path.home() / ".cache/kinspect"))
    env["PATH"] = f"{cache / 'bin/current'}:{env['PATH']}"
    env = testbed(env)
    shutil.rmtree(args.keep, ignore_errors=True)
    args.keep.mkdir(parents=True)
    snap = args.keep / "shared-snapshot.json.gz"
    subprocess.run(
        [sys.executable, "-m", "kinspect", "snapshot", "save", str(snap)],
        env={**env, **FIXED_ENV, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=300,
    )
    cmds = commands(addresses(env), str(snap), shutil.which("dot") is not None)
    if args.only:
        cmds = [c for c in cmds if re.search(args.only, c.name)]
    with worktree(args.base) as base:
        t0 = time.monotonic()
        run_all(base, cmds, args.keep / "base", env)
        run_all(ROOT, cmds, args.keep / "this", env)
        took = time.monotonic() - t0
    print(
        f"same-output: {len(cmds)} commands run with {args.base} and with this tree "
        f"in {took:.0f} s (outputs in {args.keep})"
    )
    return 1 if compare(args.keep / "base", args.keep / "this") else 0


if __name__ == "__main__":
    sys.exit(main())
