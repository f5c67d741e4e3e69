"""Which `fhirServer` URLs the service may call (the SSRF guard), checked before any request.

Entries (CDSHOOKS_FHIR_ALLOWLIST) are origins (`https://fhir.example.org`,
`https://fhir.example.org:8443`) or origins with a path prefix
(`https://fhir.example.org/r4`). A URL matches an entry when scheme and host
are equal, the port is equal (an entry without a port matches any port of
that host) and its path is the entry's path or below it. Host names are
compared exactly: `127.1`, `2130706433` or `localhost.` do not match
`http://127.0.0.1`. An empty allowlist means "never fetch".

Even on an allowlisted host name the service refuses link-local and cloud
metadata addresses (by literal, by well-known name, and by what the name
resolves to) unless that exact IP literal is itself an entry; a name that
resolves to loopback is refused unless a loopback entry is configured.
Private (RFC 1918) addresses of an allowlisted name are allowed: hospital
FHIR servers live there.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata endpoints outside 169.254.0.0/16.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that different URL parsers read differently (parser confusion).
_AMBIGUOUS = frozenset("\\ \t\r\n@")


@dataclass(frozen=True)
class ServerURL:
    """The parts of a URL the allowlist compares."""

    scheme: str
    host: str  # lower-case name, or the compressed IP literal
    port: int | None  # as written (None: not given)
    path: str  # without trailing slash

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS[self.scheme]

    @property
    def ip(self) -> IPAddress | None:
        return _ip(self.host)


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_server_url(url: str) -> ServerURL | None:
    """Split an http(s) URL, or None when it is unusable or ambiguous."""
    if not isinstance(url, str) or any(ch in _AMBIGUOUS for ch in url.split("?", 1)[0]):
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    host = parts.hostname.lower()
    ip = _ip(host)
    if ip is not None:
        host = ip.compressed
    segments = [unquote(s) for s in parts.path.split("/")]
    if any(s in {".", ".."} for s in segments):
        return None  # dot segments would be normalized away after the check
    return ServerURL(scheme, host, port, parts.path.rstrip("/"))


def _blocked_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip in METADATA_ADDRESSES


def _default_resolver(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    # TCP over AF_INET / AF_INET6 only: each sockaddr starts with the address as a str (never an int).
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class FhirAllowlist:
    """The configured FHIR servers; `refusal()` says why a URL may not be called."""

    def __init__(
        self,
        entries: Iterable[str],
        resolver: Callable[[str, int], list[IPAddress]] | None = None,
    ) -> None:
        self.entries = tuple(e for e in (parse_server_url(x) for x in entries) if e is not None)
        self._literals = frozenset(e.ip for e in self.entries if e.ip is not None)
        self._loopback_allowed = any(
            e.host == "localhost" or (e.ip is not None and e.ip.is_loopback) for e in self.entries
        )
        self._resolver = resolver

    def _matches(self, url: ServerURL) -> bool:
        for e in self.entries:
            if (e.scheme, e.host) != (url.scheme, url.host):
                continue
            if e.port is not None and e.effective_port != url.effective_port:
                continue
            if e.path and url.path != e.path and not url.path.startswith(e.path + "/"):
                continue
            return True
        return False

    def refusal(self, url: str | None) -> str | None:
        """None when `url` may be called; otherwise a short reason (no URL in it)."""
        if not self.entries:
            return "no FHIR server is allowlisted"
        parsed = parse_server_url(url or "")
        if parsed is None:
            return "fhirServer is not a plain http(s) URL"
        if not self._matches(parsed):
            return "fhirServer is not on the allowlist"
        if parsed.host in METADATA_NAMES:
            return "fhirServer names a cloud metadata service"
        ip = parsed.ip
        if ip is not None and _blocked_address(ip) and ip not in self._literals:
            return "fhirServer is a link-local or metadata address"
        return None

    def address_refusal(self, url: str) -> str | None:
        """Resolve an allowlisted host name and refuse link-local, metadata and stray loopback.

        Resolution failure is not a refusal: the request itself then fails.
        """
        parsed = parse_server_url(url)
        if parsed is None:
            return "fhirServer is not a plain http(s) URL"
        if parsed.ip is not None or parsed.host == "localhost":
            return None  # literals were judged by refusal(); localhost only by its entry
        try:
            resolve = self._resolver or _default_resolver  # looked up late: tests replace it
            addresses = resolve(parsed.host, parsed.effective_port)
        except (OSError, UnicodeError, ValueError):
            return None
        for ip in addresses:
            if ip in self._literals:
                continue
            if _blocked_address(ip):
                return "fhirServer resolves to a link-local or metadata address"
            if (ip.is_loopback or ip.is_unspecified) and not self._loopback_allowed:
                return "fhirServer resolves to a loopback address"
        return None


@lru_cache(maxsize=16)
def allowlist_for(entries: tuple[str, ...]) -> FhirAllowlist:
    """The parsed allowlist for a settings tuple (parsed once per configuration)."""
    return FhirAllowlist(entries)
