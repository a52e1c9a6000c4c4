"""SSH target of a native host and its one-string form given on the command line.

Form: HOST_SPEC_FORM below (VMTP's --host took user@ip). The host is an IP address or a DNS name, the user a login name:
both are checked here, as they end up in messages, known_hosts lines and tool command lines.

Host keys (see ssh_runner): `strict` (the default) accepts only a key found in known_hosts
(PATH, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts); `accept-new` also accepts an
unknown key and adds it to that file, as OpenSSH's StrictHostKeyChecking=accept-new. A
changed key is refused by both.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

HOST_SPEC_FORM = "user@host[:port][,key=PATH][,jump=user@host[:port]][,known_hosts=PATH][,hostkey=accept-new]"
STRICT = "strict"
ACCEPT_NEW = "accept-new"
HOST_KEY_POLICIES = (STRICT, ACCEPT_NEW)
_OPTIONS = ("key", "jump", "known_hosts", "hostkey")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int = 22
    key_file: str | None = None
    jump: SshTarget | None = None
    connect_timeout: float = 10.0
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts (and /etc/ssh/ssh_known_hosts)
    host_key_policy: str = STRICT  # strict | accept-new
    # Liveness: keepalives every keepalive_s; no answer for dead_after_s = the connection is lost
    # (measure/deadlines.py derives both from the measurement settings).
    keepalive_s: float = 5.0
    dead_after_s: float = 30.0

    @property
    def label(self) -> str:
        """user@host[:port], as users wrote it; used in every message about this host."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" + (f":{self.port}" if self.port != 22 else "")


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(f"bad host spec {spec!r}: {why}; expected {HOST_SPEC_FORM}")


def _parse_user_host_port(text: str, spec: str) -> tuple[str, str, int]:
    user, sep, hostport = text.partition("@")
    if not sep or not user or not hostport:
        raise _bad(spec, f"{text!r} is not user@host")
    port = 22
    if hostport.startswith("["):  # [IPv6]:port
        host, sep, rest = hostport[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad(spec, f"unbalanced brackets in {hostport!r}")
        port_text = rest[1:] if rest else ""
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:
        host, port_text = hostport, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _bad(spec, f"port {port_text!r} is not a number in 1-65535")
        port = int(port_text)
    if not host or any(c.isspace() for c in host + user):
        raise _bad(spec, "empty host or blanks in user/host")
    if not _USER.fullmatch(user):
        raise _bad(spec, f"user {user!r} is not a login name")
    if not is_host(host):
        raise _bad(spec, f"host {host!r} is neither an IP address nor a DNS name")
    return user, host, port


def is_host(text: str) -> bool:
    """An IPv4/IPv6 address or a DNS host name (letters, digits, hyphens, dots)."""
    try:
        ipaddress.ip_address(text)
        return "%" not in text
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text))


def parse_host_spec(spec: str, connect_timeout: float = 10.0, host_key_policy: str = STRICT) -> SshTarget:
    """Parse a host spec (HOST_SPEC_FORM, plus known_hosts=PATH and hostkey=POLICY) into an
    SshTarget. host_key_policy: the default when the spec does not say (hostkey=).

    The jump host uses the same key, known_hosts and policy as the target (one of each is
    usual for a test bed).
    """
    if not spec or not spec.strip():
        raise _bad(spec, "empty")
    head, *options = spec.strip().split(",")
    user, host, port = _parse_user_host_port(head, spec)
    given: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not value:
            raise _bad(spec, f"option {option!r} is not name=value")
        if name not in _OPTIONS:
            raise _bad(spec, f"unknown option {name!r} (known: {', '.join(_OPTIONS)})")
        given[name] = value
    policy = given.get("hostkey", host_key_policy)
    if policy not in HOST_KEY_POLICIES:
        raise _bad(spec, f"hostkey={policy!r}: choose {' or '.join(HOST_KEY_POLICIES)}")
    key_file, known_hosts = given.get("key"), given.get("known_hosts")
    jump = None
    if "jump" in given:
        juser, jhost, jport = _parse_user_host_port(given["jump"], spec)
        jump = SshTarget(juser, jhost, jport, key_file, None, connect_timeout, known_hosts, policy)
    return SshTarget(user, host, port, key_file, jump, connect_timeout, known_hosts, policy)
