"""SSH target of a native host and its one-string form given on the command line.

Form: user@host[:port][,key=PATH][,jump=user@host[:port]] (VMTP's --host took user@ip).
"""

from __future__ import annotations

from dataclasses import dataclass

HOST_SPEC_FORM = "user@host[:port][,key=PATH][,jump=user@host[:port]]"


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int = 22
    key_file: str | None = None
    jump: SshTarget | None = None
    connect_timeout: float = 10.0

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
    return user, host, port


def parse_host_spec(spec: str, connect_timeout: float = 10.0) -> SshTarget:
    """Parse user@host[:port][,key=PATH][,jump=user@host[:port]] into an SshTarget.

    The jump host uses the same key as the target (one key is usual for a test bed).
    """
    if not spec or not spec.strip():
        raise _bad(spec, "empty")
    head, *options = spec.strip().split(",")
    user, host, port = _parse_user_host_port(head, spec)
    key_file: str | None = None
    jump_text: str | None = None
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not value:
            raise _bad(spec, f"option {option!r} is not name=value")
        if name == "key":
            key_file = value
        elif name == "jump":
            jump_text = value
        else:
            raise _bad(spec, f"unknown option {name!r} (known: key, jump)")
    jump = None
    if jump_text is not None:
        juser, jhost, jport = _parse_user_host_port(jump_text, spec)
        jump = SshTarget(juser, jhost, jport, key_file, None, connect_timeout)
    return SshTarget(user, host, port, key_file, jump, connect_timeout)
