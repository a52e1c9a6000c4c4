"""SSH target of a native host and its one-string form given on the command line.

Form: HOST_SPEC_FORM below. The host is an IP address or a DNS name, the user a login name:
both are checked here, as they end up in messages, known_hosts lines and tool command lines.
VMTP's own form `user@ip[:password[:ifname]]` is read too: `user@ip::eth0` is
`user@ip,listen=eth0`; a password written in the spec is refused (it would show in `ps`, shell
history and logs): `password_env=NAME` names an environment variable holding it instead.

Authentication: key=PATH, the SSH agent (SSH_AUTH_SOCK; by default when the spec names
neither a key nor a password, as ssh does; `agent=yes|no` says it explicitly), the password in
$NAME; paramiko tries them in that order.

Host keys (see ssh_runner): `strict` (the default) accepts only a key found in known_hosts
(PATH, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts); `accept-new` also accepts an
unknown key and adds it to that file, as OpenSSH's StrictHostKeyChecking=accept-new. A
changed key is refused by both.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

HOST_SPEC_FORM = ("user@host[:port][,key=PATH][,password_env=VAR][,agent=yes|no][,jump=user@host[:port]]"
                  "[,known_hosts=PATH][,hostkey=accept-new]")
LISTEN_FORM = "listen=IFNAME|ADDRESS"  # native hosts only: where clients reach the server side
STRICT = "strict"
ACCEPT_NEW = "accept-new"
HOST_KEY_POLICIES = (STRICT, ACCEPT_NEW)
_OPTIONS = ("key", "jump", "known_hosts", "hostkey", "password_env", "agent", "listen")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_IFNAME = re.compile(r"[A-Za-z0-9_.@-]{1,15}")  # Linux: at most 15 bytes, no '/', ':' or blanks
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
    agent: bool = False  # offer the SSH agent's keys (SSH_AUTH_SOCK)
    password_env: str | None = None  # the environment variable holding the password (never the password)
    # Liveness: keepalives every keepalive_s; no answer for dead_after_s = the connection is lost
    # (measure/deadlines.py derives both from the measurement settings).
    keepalive_s: float = 5.0
    dead_after_s: float = 30.0

    @property
    def label(self) -> str:
        """user@host[:port], as users wrote it; used in every message about this host."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" + (f":{self.port}" if self.port != 22 else "")


@dataclass(frozen=True)
class NativeHost:
    """A --vmtp-host: how to reach it, and where its clients reach its server side (listen=,
    VMTP's `:ifname`: an interface of that host, or one of its addresses; None: the SSH address)."""

    target: SshTarget
    listen: str | None = None


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(f"bad host spec {masked_spec(spec)!r}: {why}; expected {HOST_SPEC_FORM}")


_INLINE_PASSWORD = re.compile(r"(,password=)[^,]*")


def masked_spec(spec: str) -> str:
    """The spec as shown in messages: a password written in it (VMTP's user@ip:password[:ifname],
    or password=...) replaced with <MASKED>."""
    if not isinstance(spec, str):
        return spec
    head, comma, rest = spec.partition(",")
    user, at, hostport = head.partition("@")
    parts = hostport.split(":")
    if at and not hostport.startswith("[") and not _is_ip(hostport):
        if len(parts) == 2 and parts[1] and not parts[1].isdigit():
            head = f"{user}@{parts[0]}:<MASKED>"
        elif len(parts) >= 3 and any(parts[1:-1]):
            head = f"{user}@{parts[0]}:<MASKED>:{parts[-1]}"
    return _INLINE_PASSWORD.sub(r"\1<MASKED>", head + comma + rest)


_NO_PASSWORD = ("a password written in the spec is refused (ps, shell history and logs show it): put it "
                "in an environment variable and add ,password_env=NAME")


def _parse_user_host_port(text: str, spec: str) -> tuple[str, str, int, str | None]:
    """user, host, port and VMTP's ifname (user@ip:password:ifname) of the spec's head."""
    user, sep, hostport = text.partition("@")
    if not sep or not user or not hostport:
        raise _bad(spec, f"{text!r} is not user@host")
    port, ifname = 22, None
    if hostport.startswith("["):  # [IPv6]:port
        host, sep, rest = hostport[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad(spec, f"unbalanced brackets in {hostport!r}")
        port_text = rest[1:] if rest else ""
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
        if port_text and not port_text.isdigit():  # VMTP's user@ip:password
            raise _bad(spec, f"the port is not a number (a password? {_NO_PASSWORD})")
    elif hostport.count(":") >= 2 and not _is_ip(hostport):  # VMTP's user@ip:password:ifname
        host, _, rest = hostport.partition(":")
        password, _, ifname = rest.rpartition(":")  # as VMTP: the ifname is after the last colon
        if password:
            raise _bad(spec, _NO_PASSWORD)
        if not _IFNAME.fullmatch(ifname):
            raise _bad(spec, f"interface {ifname!r} is not an interface name (VMTP's user@ip::ifname)")
        port_text = ""
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
    return user, host, port, ifname


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def is_host(text: str) -> bool:
    """An IPv4/IPv6 address or a DNS host name (letters, digits, hyphens, dots)."""
    try:
        ipaddress.ip_address(text)
        return "%" not in text
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text))


def parse_host_spec(spec: str, connect_timeout: float = 10.0, host_key_policy: str = STRICT) -> SshTarget:
    """Parse a host spec (HOST_SPEC_FORM) into an SshTarget. host_key_policy: the default when
    the spec does not say (hostkey=). listen= is refused: only a native host has a server side.

    The jump host uses the same key, password, agent, known_hosts and policy as the target (one
    of each is usual for a test bed).
    """
    native = parse_native_host(spec, connect_timeout, host_key_policy)
    if native.listen is not None:
        raise _bad(spec, f"{LISTEN_FORM} (VMTP's :ifname) is for native hosts (--vmtp-host) only")
    return native.target


def parse_native_host(spec: str, connect_timeout: float = 10.0, host_key_policy: str = STRICT) -> NativeHost:
    """Parse a --vmtp-host spec: HOST_SPEC_FORM plus [,listen=IFNAME|ADDRESS] (or VMTP's
    user@ip::ifname)."""
    if not spec or not spec.strip():
        raise _bad(spec, "empty")
    head, *options = spec.strip().split(",")
    user, host, port, ifname = _parse_user_host_port(head, spec)
    given: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not value:
            raise _bad(spec, f"option {option!r} is not name=value")
        if name == "password":
            raise _bad(spec, _NO_PASSWORD)
        if name not in _OPTIONS:
            raise _bad(spec, f"unknown option {name!r} (known: {', '.join(_OPTIONS)})")
        given[name] = value
    policy = given.get("hostkey", host_key_policy)
    if policy not in HOST_KEY_POLICIES:
        raise _bad(spec, f"hostkey={policy!r}: choose {' or '.join(HOST_KEY_POLICIES)}")
    password_env = given.get("password_env")
    if password_env is not None and not _ENV_NAME.fullmatch(password_env):
        raise _bad(spec, f"password_env={password_env!r}: give the name of an environment variable")
    key_file, known_hosts = given.get("key"), given.get("known_hosts")
    agent_text = given.get("agent", "no" if key_file or password_env else "yes")
    if agent_text not in ("yes", "no"):
        raise _bad(spec, f"agent={agent_text!r}: choose yes or no")
    agent = agent_text == "yes"
    listen = given.get("listen", ifname)
    if listen is not None and not (_is_ip(listen) or _IFNAME.fullmatch(listen)):
        raise _bad(spec, f"listen={listen!r}: give an interface name or an IP address of that host")
    if "listen" in given and ifname:
        raise _bad(spec, "give the interface once: user@host::IFNAME or ,listen=IFNAME")
    jump = None
    if "jump" in given:
        juser, jhost, jport, jif = _parse_user_host_port(given["jump"], spec)
        if jif:
            raise _bad(spec, "the jump host has no server side (no :ifname)")
        jump = SshTarget(juser, jhost, jport, key_file, None, connect_timeout, known_hosts, policy,
                         agent, password_env)
    target = SshTarget(user, host, port, key_file, jump, connect_timeout, known_hosts, policy, agent, password_env)
    return NativeHost(target, listen)


def password_of(target: SshTarget) -> str | None:
    """The password from the target's environment variable (None: none named, or unset)."""
    import os

    return os.environ.get(target.password_env) if target.password_env else None
