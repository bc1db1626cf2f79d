"""Kubeconfig contexts and in-cluster config, loaded into the `Connection` every read goes through.

A kubeconfig or credential plugin that fails is one `ConfigError` line that never echoes the file
or the plugin's output (either may hold a token); the client's own log is kept off stderr. A
token is trimmed and checked before any request carries it, a server URL is shown with its
password masked (`redacted`), and a context that skips TLS verification is said once, not per
request. Wire never prints: the caller passes `log` (retries, shown with -v) and `warn` (one
line each) to `connect`.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kubernetes.client as k8s
import kubernetes.config as k8s_config
import urllib3
import yaml
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import SERVICE_TOKEN_FILENAME
from kubernetes.config.kube_config import ConfigNode, KubeConfigMerger

from kinspect import __version__
from kinspect.model.errors import ConfigError
from kinspect.wire import retry
from kinspect.wire.untrusted import one_line

# 500 is kubectl's page size; larger pages cut round trips on big clusters, while keeping
# each response (and the server's memory for it) bounded.
PAGE_SIZE = 1000

# A LIST that turns out (from its first page's remainingItemCount) to hold at most this many
# items is read again in one response, without a limit, instead of page by page: a LIST with
# no limit and no resourceVersion is a consistent read served from the API server's watch
# cache (ConsistentListFromCache), while the continue pages of a paged LIST come from etcd on
# a cluster whose objects have not changed since the last compaction
# (lists.SPLIT_PAGES_PER_NAMESPACE), at about twice the server's CPU. The bound keeps each
# response, and what a server without streaming list encoding (before 1.33) builds in memory
# for it, to about 100 MB of pods; bigger lists stay paged (pods per namespace first).
# docs/performance.md has the measurements and the rule.
UNPAGED_MAX = 25_000

# The largest response body read, once inflated (KINSPECT_MAX_RESPONSE_BYTES overrides it): a
# gzip body of a few MB can inflate to gigabytes, and is checked as it inflates. The largest
# lawful body of the 100k-pod benchmark is every pod in one response (after a 410, or with
# KINSPECT_CHUNK_SIZE=0): about 450 MB (443 MB for all kinds of one `map` together); by
# default no response is over UNPAGED_MAX items, about 110 MB. Twice the former, and pods
# carrying more than the benchmark's (managedFields, long statuses) still fit.
MAX_RESPONSE_BYTES = 1 << 30


# What a broken kubeconfig can raise while being parsed or loaded.
_CONFIG_ERRORS = (ConfigException, OSError, ValueError, TypeError, KeyError, yaml.YAMLError)


def _quiet(_: str) -> None:
    pass


@dataclass
class Connection:
    context: str
    server: str  # for messages only: the password of a URL's userinfo masked (`redacted`)
    api: k8s.ApiClient
    default_namespace: str
    timeout: float  # seconds for each request, from sending it to its body's last byte
    page_size: int = PAGE_SIZE  # 0: no paging (one response per LIST)
    log: Callable[[str], None] = _quiet  # retries and restarts, for -v
    warn: Callable[[str], None] = _quiet  # one line each: data skipped or read again
    # Shared by every reader of this connection: one told to back off holds them all.
    gate: retry.Gate = field(default_factory=retry.Gate)
    # The server has answered once: a refused connection now means it is restarting.
    answered: bool = False
    # Lists of at most this many items are read whole (UNPAGED_MAX); 0: always by pages.
    unpaged_max: int = UNPAGED_MAX
    # When set (--watch), the resourceVersion of every LIST read, by (resource, namespace or
    # None): a watch starts from it.
    list_versions: dict[tuple[str, str | None], str] | None = None
    # Ask for gzip-compressed LIST responses (the API server compresses those over 128 KiB),
    # as kubectl does. It pays even on loopback: at 100k pods `map` reads 29 MB instead of
    # 443 MB, and TLS and socket reads of the plain body cost more than inflating it
    # (docs/performance.md, "gzip"). KINSPECT_GZIP=0 turns it off.
    gzip: bool = True
    # The largest response body read, inflated (MAX_RESPONSE_BYTES): past it, exit 9.
    max_body: int = MAX_RESPONSE_BYTES


def contexts(kubeconfig: str | None) -> tuple[dict[str, str], str | None]:
    """The contexts of a kubeconfig (name → default namespace) and the current one."""
    paths = _paths(kubeconfig).split(":")
    if not any(os.path.isfile(p) for p in paths if p):
        raise _config_error(kubeconfig, FileNotFoundError())
    try:
        ctxs, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except _CONFIG_ERRORS as e:
        raise _config_error(kubeconfig, e) from None
    names = {c["name"]: (c.get("context") or {}).get("namespace") or "default" for c in ctxs or ()}
    return names, (current or {}).get("name")


def _paths(kubeconfig: str | None) -> str:
    """The kubeconfig files to read, ":"-separated, as the client reads them."""
    return kubeconfig or os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION)


def redacted(url: str) -> str:
    """`url` with the password of its userinfo masked, as kubectl shows a server (`admin:***`).

    The userinfo ends at the authority's last "@", as Go's url.Parse and urllib read it; a user
    name alone is kept, as kubectl keeps it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (at and colon):
        return url
    return f"{scheme}{sep}{user}:***@{host}{rest[end:]}"


@dataclass(frozen=True)
class _User:
    """The kubeconfig's user entry of a context, for messages: what its credentials come from."""

    name: str
    context: str
    token_file: str | None = None  # resolved as the client resolves it; None: a token or none
    command: str | None = None  # its exec credential plugin, if any

    def __str__(self) -> str:
        return f"user {self.name or '(none)'} (context {self.context})"


def _user_of(kubeconfig: str | None, context: str) -> _User:
    """`context`'s user entry, looked up as the client looks it up (only for messages)."""
    try:
        config = KubeConfigMerger(_paths(kubeconfig)).config
        # As the client's KubeConfigLoader.set_active_context finds it.
        name = config["contexts"].get_with_name(context)["context"].safe_get("user") or ""
        users = config["users"] if name and config.safe_get("users") else None
        entry = users.get_with_name(name, safe=True) if users else None
        user = entry["user"] if entry and entry.safe_get("user") else None
        if not isinstance(user, ConfigNode):  # absent, or not a mapping
            return _User(str(name), context)
        fields = user.value
        token_file = fields.get("tokenFile")
        if token_file and "token" not in fields:  # the client prefers `token` when both are set
            base = os.path.dirname(os.path.abspath(user.path)) if user.path else ""
            token_file = os.path.normpath(os.path.join(base, str(token_file)))
        else:
            token_file = None
        plugin = fields.get("exec")
        command = plugin.get("command") if isinstance(plugin, dict) else None
        return _User(str(name), context, token_file, None if command is None else str(command))
    except (*_CONFIG_ERRORS, AttributeError):
        return _User("", context)


class _Tokens(dict[str, Any]):
    """The client configuration's `api_key`: every bearer token stored in it trimmed and checked.

    The client stores "Bearer TOKEN" here when it loads a kubeconfig or in-cluster config, and
    again each time its refresh hook runs (before every request, for exec plugins and token
    files): checking on store covers every source and every refresh, and no concurrent request
    ever sees the raw value. Trimmed as client-go trims a token file (`kubectl create token NAME
    > FILE` ends it with a newline); a token that cannot go into an HTTP header (a control
    character, a line break, anything not ASCII: Python encodes headers as Latin-1, Go sends
    UTF-8) is a ConfigError naming the user, never the token: the client's own error would
    quote the whole header value.
    """

    def __init__(self, user: _User) -> None:
        super().__init__()
        self.user = user

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "BearerToken" and isinstance(value, str):
            value = _header_token(value, self.user)
        super().__setitem__(key, value)


def _header_token(value: str, user: _User) -> str:
    """`value` ("Bearer TOKEN") with TOKEN trimmed, or a ConfigError if it cannot be sent."""
    scheme, _, token = value.partition(" ")
    token = token.strip()
    source = f"token file {user.token_file} of {user}" if user.token_file else f"token of {user}"
    hint = "write a new token (kubectl create token NAME > FILE), or log in again"
    if not token:
        raise ConfigError(f"the {source} is empty", hint)
    bad = next((i for i, c in enumerate(token) if not "!" <= c <= "~"), None)
    if bad is not None:
        raise ConfigError(
            f"the {source} cannot be sent in an HTTP header: its character {bad + 1} is a "
            "space, a control character or not ASCII",
            hint,
        )
    return f"{scheme} {token}"


def _load_error(kubeconfig: str | None, user: _User, e: BaseException) -> ConfigError:
    """What failed while loading `user`'s credentials: its token file, or the kubeconfig."""
    # contexts() parsed every kubeconfig file already: a file error now is a file it names.
    if user.token_file is not None and (
        isinstance(e, UnicodeDecodeError)
        or (isinstance(e, OSError) and os.path.normpath(e.filename or "") == user.token_file)
    ):
        hint = "write the token there (kubectl create token NAME > FILE), or fix its tokenFile"
        if isinstance(e, FileNotFoundError):
            return ConfigError(f"the token file {user.token_file} of {user} does not exist", hint)
        why = "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else _strerror(e)
        return ConfigError(f"cannot read the token file {user.token_file} of {user}: {why}", hint)
    return _config_error(kubeconfig, e)


def _strerror(e: BaseException) -> str:
    return (e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__).lower()


def _config_error(kubeconfig: str | None, e: BaseException) -> ConfigError:
    where = kubeconfig or "~/.kube/config"
    if isinstance(e, FileNotFoundError):
        return ConfigError(
            f"no kubeconfig found at {where}",
            "pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod",
        )
    # Never echo the exception: parsers quote the offending text, which may hold a token.
    return ConfigError(
        f"cannot use kubeconfig {where}: {type(e).__name__}",
        "check the file with `kubectl config view` or pass another --kubeconfig",
    )


class _ClientLog(logging.Handler):
    """Keeps the kubernetes client's root-logger messages off stderr.

    It also keeps the exec credential plugin's failure (which the client logs and swallows,
    then sends the request without credentials) for `connect` to report: its own ("exec: ...")
    or the plugin's that could not be run (`str(OSError)`, "[Errno 2] No such file or
    directory: 'cmd'"). The client logs to the root logger only there.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.exec_failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        first = self.exec_failure is None
        if first and record.name == "root" and record.levelno >= logging.ERROR:
            self.exec_failure = record.getMessage()


# str() of the OSError that running the plugin raised: "[Errno 2] No such file or directory: …"
_OS_ERROR = re.compile(r"\[Errno \d+\] ([^:]{1,80})")


def _plugin_error(user: _User, failure: str) -> ConfigError:
    """The exec plugin's failure, as its exit code and the first line of its stderr."""
    context = user.context
    head, _, stderr = failure.partition(". ")
    not_run = _OS_ERROR.match(failure)
    if not_run:
        # As kubectl's "exec: executable X not found": the command named, never run.
        command = one_line(user.command or "(none)", 120)
        return ConfigError(
            f"the credential plugin {command} of context {context} could not be run: "
            f"{not_run.group(1).lower()}",
            "install it on PATH, or fix users[].user.exec.command in the kubeconfig",
        )
    if head.startswith("exec: process returned "):
        code = head.removeprefix("exec: process returned ")
        line = one_line(stderr.strip().splitlines()[0]) if stderr.strip() else ""
        what = f"exited {code}" + (f": {line}" if line else "")
    else:
        # Its output did not parse: never echo it, it may hold the token.
        what = "gave no usable credentials"
    return ConfigError(
        f"the credential plugin of context {context} {what}",
        "run the users[].exec command of the kubeconfig by hand, or log in again",
    )


def connect(
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    in_cluster: bool = False,
    page_size: int = PAGE_SIZE,
    log: Callable[[str], None] = _quiet,
    warn: Callable[[str], None] = _quiet,
    unpaged_max: int = UNPAGED_MAX,
    gzip: bool = True,
    max_body: int = MAX_RESPONSE_BYTES,
) -> Connection:
    """Load credentials for `context` (or the current one, or in-cluster config).

    `gzip`: ask for compressed lists; `max_body`: the largest response body read, inflated.
    """
    client_log = _ClientLog()
    root = logging.getLogger()
    # Before the client logs: logging.error() on a root without handlers would add one that
    # prints "ERROR:root:..." to stderr for the rest of the run.
    for h in [h for h in root.handlers if isinstance(h, _ClientLog)]:
        root.removeHandler(h)
    root.addHandler(client_log)
    cfg = k8s.Configuration()
    if in_cluster:
        sa = _User("serviceaccount", "in-cluster", token_file=SERVICE_TOKEN_FILENAME)
        cfg.api_key = _Tokens(sa)
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except ConfigException:
            raise ConfigError(
                "no in-cluster service account found",
                "run inside a pod, or pass --kubeconfig/--context",
            ) from None
        except _CONFIG_ERRORS as e:
            # Its token file there but unreadable (not text; a pod running as a user that may
            # not read it): the client raises what open() and read() raised.
            why = "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else _strerror(e)
            raise ConfigError(
                f"cannot read the in-cluster service account's token {SERVICE_TOKEN_FILENAME}: "
                f"{why}",
                "run the pod as a user that may read it, or pass --kubeconfig/--context",
            ) from None
        name, ns = "in-cluster", _incluster_namespace()
    else:
        names, current = contexts(kubeconfig)
        chosen = context or current
        if not chosen:
            raise ConfigError("the kubeconfig has no current context", "pass --context NAME")
        name = chosen
        if name not in names:
            shown = ", ".join(list(names)[:8]) or "none"
            raise ConfigError(
                f"context {name!r} not found in the kubeconfig",
                f"use one of: {shown}",
            )
        user = _user_of(kubeconfig, name)
        cfg.api_key = _Tokens(user)
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=name,
                client_configuration=cfg,
                persist_config=False,
            )
        except _CONFIG_ERRORS as e:
            raise _load_error(kubeconfig, user, e) from None
        if client_log.exec_failure is not None:
            raise _plugin_error(user, client_log.exec_failure)
        ns = names[name]
    server = redacted(cfg.host)
    if not cfg.verify_ssl and cfg.host.startswith("https:"):
        # urllib3 warns twice per request (42 lines for one map): kinspect says it once.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        warn(
            f"context {name} skips TLS verification (insecure-skip-tls-verify): "
            f"the identity of the API server {server} is not checked"
        )
    # urllib3's own retries are silent and blind to Retry-After: fetch_page retries instead.
    cfg.retries = False
    # Up to 6 LISTs (one per kind) and 4 namespaces' pods at once, each with its next page in
    # flight: the default pool (5 per core) would drop and reopen connections, with a logged
    # warning.
    cfg.connection_pool_maxsize = 32
    api = k8s.ApiClient(cfg)
    # Named in the API server's audit log, which the e2e suite reads to prove we only read.
    api.user_agent = f"kinspect/{__version__}"
    conn = Connection(name, server, api, ns, timeout, page_size, log, warn)
    conn.unpaged_max = unpaged_max
    conn.gzip = gzip
    conn.max_body = max_body
    return conn


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"
