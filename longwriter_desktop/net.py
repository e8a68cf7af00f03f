"""The one way the app opens HTTP connections: downloads from the Hub and calls to a writing server alike.

- Trust: HTTPS is verified against the operating system's certificate store (``truststore``, which comes
  with huggingface-hub), so a company proxy or antivirus that inspects HTTPS works once the system trusts
  it; Python's own store (and ``certifi`` where that is empty) otherwise.
- Proxies: the system's (environment variables, and the registry or System Configuration through
  ``urllib.request.getproxies``), with basic credentials; never for this machine (localhost, 127.x, ::1).
- Timeouts: a connect timeout, then a per-read one set on the socket by the caller.
- Retries: :func:`backoff` gives the delay before attempt ``n``, capped; a server's Retry-After wins.

The callers word their own errors (a download and a server say different things); this module raises
what the standard library raises: ``ssl.SSLCertVerificationError``, ``TimeoutError``, ``OSError``.
"""

from __future__ import annotations

import base64
import functools
import http.client
import ssl
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import SplitResult, unquote, urlsplit

from . import __version__

USER_AGENT = f"longwriter-desktop/{__version__}; python/{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass
class Connection:
    """An open connection, the request target to send (an absolute URL through an HTTP proxy) and the
    headers the proxy needs on every request."""

    conn: http.client.HTTPConnection
    target: str
    headers: dict[str, str] = field(default_factory=dict)


def origin(split: SplitResult) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port: what a token may be sent to."""
    default = {"http": 80, "https": 443}.get(split.scheme)
    return split.scheme, (split.hostname or "").lower(), split.port or default


def is_local(host: str) -> bool:
    host = host.lower().strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def proxy_for(split: SplitResult) -> SplitResult | None:
    """The system's proxy for this URL, or None (never for this machine, nor for hosts the system bypasses)."""
    host = (split.hostname or "").lower()
    if is_local(host):
        return None
    proxy = urllib.request.getproxies().get(split.scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return urlsplit(proxy if "://" in proxy else f"http://{proxy}")


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """The operating system's certificate store where truststore is available, else Python's defaults."""
    try:
        import truststore

        return cast(ssl.SSLContext, truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    except ImportError:
        pass
    context = ssl.create_default_context()
    if not context.cert_store_stats().get("x509_ca"):
        try:  # python.org builds on macOS ship without certificates
            import certifi

            context.load_verify_locations(certifi.where())
        except ImportError:
            pass
    return context


def new_connection(split: SplitResult, *, timeout: float) -> Connection:
    """A connection to the URL's host (through the system's proxy if it has one), not yet connected.

    ValueError for a scheme other than http and https.
    """
    host = split.hostname or ""
    port = split.port
    target = split.path + (f"?{split.query}" if split.query else "")
    proxy = proxy_for(split)
    headers: dict[str, str] = {}
    if proxy is not None and proxy.username:
        credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    conn: http.client.HTTPConnection
    if split.scheme == "https":
        if proxy is not None:
            conn = http.client.HTTPSConnection(proxy.hostname or "", proxy.port or 8080, timeout=timeout,
                                               context=ssl_context())
            conn.set_tunnel(host, port or 443, headers=headers)
            headers = {}  # sent once, to open the tunnel
        else:
            conn = http.client.HTTPSConnection(host, port or 443, timeout=timeout, context=ssl_context())
    elif split.scheme == "http":
        if proxy is not None:
            conn = http.client.HTTPConnection(proxy.hostname or "", proxy.port or 8080, timeout=timeout)
            target = split.geturl()
        else:
            conn = http.client.HTTPConnection(host, port or 80, timeout=timeout)
            headers = {}
    else:
        raise ValueError(f"only http and https URLs can be opened, not '{split.geturl()}'")
    return Connection(conn, target or "/", headers)


def connect(split: SplitResult, *, connect_timeout: float, read_timeout: float | None = None) -> Connection:
    """:func:`new_connection`, connected; the socket then waits ``read_timeout`` per read (None: as is)."""
    opened = new_connection(split, timeout=connect_timeout)
    try:
        opened.conn.connect()
    except BaseException:
        opened.conn.close()
        raise
    if read_timeout is not None and opened.conn.sock is not None:
        opened.conn.sock.settimeout(read_timeout)
    return opened


def backoff(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """The wait before retry ``attempt`` (1 = the first): doubling from ``base``, at most ``cap``; a
    server's Retry-After, where it gave one, instead."""
    delay = base * 2 ** max(0, attempt - 1) if retry_after is None else retry_after
    return min(delay, cap)


def retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header (the number form), or None."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def describe(exc: BaseException) -> str:
    """The first line of an exception's text (or its type's name), for a log line or a message's detail."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
