"""Defaults (defaults.yaml) + --vmtp-config file + command-line options -> one VmtpConfig.

Every mistake raises ConfigError with one line that says what to do; the plugin turns it
into a pytest usage error.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_vmtp import config_boot, defaults
from pytest_vmtp.catalogue import IPV6_MODES, Protocol, parse_protocols
from pytest_vmtp.gate.rules import GateRules, RuleError
from pytest_vmtp.history.errors import HistoryError
from pytest_vmtp.history.mongo import MongoTarget
from pytest_vmtp.measure import validate
from pytest_vmtp.measure.gmond import HostCpu, parse_target
from pytest_vmtp.measure.settings import MULTICAST_TOOLS, TOOLS, MeasureSettings
from pytest_vmtp.scale.settings import MAX_PAIRS, PROGRESSIONS, ScaleSettings

LOCAL_CLOUD = "local"
# The local cloud's clouds.yaml entries (localcloud/layout.py's CLOUD_NAME, MEMBER_CLOUD_NAME):
# its admin, and a member of project demo (--vmtp-cloud local-member runs as a non-admin).
LOCAL_CLOUDS = (LOCAL_CLOUD, "local-member")
# Keys of defaults.yaml that belong to the cloud orchestration (passed on as a dict).
CLOUD_KEYS = (
    "image", "flavor", "external_network", "login_user", "hypervisors", "availability_zone",
    "cidrs", "boot_timeout_s", "ssh_timeout_s", "keep", "dns_nameservers", "networks", "router",
    "security_group", "key_pair", "private_key", "floating_ips", "ssh_jump", "ipv6_mode", "ipv6_cidrs",
    "vm_image_url", "delete_image_after_run", "vnic_type", "config_drive", "user_data", "dhcp",
    "footprint",
    "api_retries", "api_retry_budget_s", "api_retry_after_max_s", "api_timeout_s",
)


class ConfigError(ValueError):
    """A user mistake in options or the config file; str() is the one line to show."""


@dataclass(frozen=True)
class HistorySettings:
    """Where the run is stored at its end, with which tags."""

    location: str | None  # a SQLite path or a URL; None: the per-user default file
    connect_timeout_s: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class VmtpConfig:
    measure: MeasureSettings
    protocols: tuple[Protocol, ...]
    hosts: tuple[str, ...]
    external_host: str | None
    cloud_name: str  # "local", "local-member" or a clouds.yaml entry
    cloud: dict[str, Any] = field(default_factory=dict)
    json_path: Path | None = None
    description: str | None = None
    history: HistorySettings | None = None  # None: the run is not stored
    mongod: MongoTarget | None = None  # VMTP's MongoDB export
    gate: GateRules = field(default_factory=lambda: GateRules({}))
    baseline: str | None = None  # --vmtp-baseline SOURCE
    raw: dict[str, Any] = field(default_factory=dict)  # merged YAML view, for the JSON "args"
    host_key_policy: str = "strict"  # for hosts and external_host: strict | accept-new
    host_cpu: HostCpu = field(default_factory=HostCpu)  # gmonds given (the local cloud adds its own)
    warnings: tuple[str, ...] = ()  # config files' keys that were not taken (VMTP keys without equivalent)
    files: tuple[str, ...] = ()  # the config files read, in order (~/.vmtp.yaml, --vmtp-config)
    scale: ScaleSettings = field(default_factory=ScaleSettings)  # --vmtp-pairs, --vmtp-progression

    @property
    def multicast(self) -> bool:
        return "multicast" in self.protocols

    @property
    def is_local_cloud(self) -> bool:
        """The local cloud, as its admin (`local`) or its member user (`local-member`)."""
        return self.cloud_name in LOCAL_CLOUDS


def load_defaults() -> dict[str, Any]:
    return defaults.table()


# What an empty default means, where "none" would not say it.
_EMPTY_DEFAULT = {
    "cloud": "$OS_CLOUD, else 'local'",
    "external_host": "'local' on the local cloud",
    "hosts": "the local cloud's compute hosts",
    "hypervisors": "picked from the enabled compute services",
    "external_network": "the first router:external network",
    "networks": "two networks made by the run",
    "availability_zone": "any",
    "history": "$XDG_DATA_HOME/pytest-vmtp/history.sqlite, i.e. ~/.local/share/pytest-vmtp/history.sqlite",
}


def describe_default(key: str) -> str:
    """The default of a defaults.yaml key in words, for option help texts."""
    value = load_defaults().get(key)
    if isinstance(value, dict) and "name" in value:  # flavor: its name (the spec is in the file)
        value = value["name"]
    if value in (None, [], ""):
        return _EMPTY_DEFAULT.get(key, "none")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def load_file(path: str | Path, vmtp: bool | None = None,
              label: str = "--vmtp-config") -> tuple[dict[str, Any], list[str]]:
    """A config file's settings (defaults.yaml keys) and its warnings. VMTP's own files (its
    cfg.default.yaml keys; vmtp None: told by their keys) are translated (compat/vmtp_config.py),
    their keys without an equivalent a warning; in pytest-vmtp's files an unknown key is an error."""
    from pytest_vmtp.compat import vmtp_config

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{label} {p}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{label} {p}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        raise ConfigError(f"{label} {p}: expected a mapping of keys to values")
    ours = set(load_defaults())
    if vmtp if vmtp is not None else vmtp_config.is_vmtp_file(data, ours):
        translation = vmtp_config.translate(data, f"{p} (VMTP's format)", ours)
        return translation.settings, translation.warnings
    unknown = sorted(set(data) - ours)
    if unknown:
        raise ConfigError(
            f"{label} {p}: unknown key(s) {', '.join(unknown)}; see pytest_vmtp/defaults.yaml"
        )
    return data, []


def user_vmtp_file() -> Path | None:
    """~/.vmtp.yaml when it exists: VMTP read it before its -c file (compat/vmtp_config.py)."""
    from pytest_vmtp.compat.vmtp_config import USER_FILE

    path = Path(USER_FILE).expanduser()
    return path if path.is_file() else None


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*(?:bps|bit/s)?\s*$")


def parse_bandwidth(text: str | int | None) -> int | None:
    """'500M' -> 500000 kbit/s (1000-based, like tc and nuttcp); None/0 -> no cap."""
    if text in (None, "", 0, "0"):
        return None
    m = _RATE.match(str(text))
    if not m:
        raise ConfigError(f"bandwidth {text!r}: use a number with K, M or G, e.g. 500M")
    value = float(m.group(1)) * {"": 0.001, "k": 1, "m": 1000, "g": 1_000_000}[m.group(2).lower()]
    if value < 1:
        raise ConfigError(f"bandwidth {text!r}: at least 1K")
    return int(value)


def _sizes(name: str, value: Any, largest: int = 65507) -> tuple[int, ...]:
    items = [v.strip(" ") for v in value.split(",") if v.strip(" ")] if isinstance(value, str) else value
    try:
        sizes = tuple(validate.whole_number(v, "size", 1 << 62) for v in items)
    except (TypeError, validate.InvalidValue):
        raise ConfigError(f"{name} {value!r}: use a comma-separated list of sizes in bytes") from None
    if not sizes or any(s <= 0 or s > largest for s in sizes):
        raise ConfigError(f"{name} {value!r}: sizes must be between 1 and {largest} bytes")
    return sizes


def _positive(name: str, value: Any, kind: type[int] | type[float] = int) -> Any:
    what = "a positive whole number" if kind is int else "a positive number"
    try:
        v = kind(value)
        if kind is int and float(value) != v:  # 0.5 is no count of seconds or runs
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r}: expected {what}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{name} {value!r}: expected {what}")
    return v


def _loss_target(value: Any) -> tuple[float, float]:
    """udp_loss_target: [low, high] percent, 0 <= low < high <= 100."""
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ConfigError(f"udp_loss_target {value!r}: give [low, high] in percent, e.g. [2.0, 5.0]") from None
    if not 0 <= lo < hi <= 100:
        raise ConfigError(f"udp_loss_target {value!r}: give [low, high] in percent, e.g. [2.0, 5.0]")
    return lo, hi


def _whole(name: str, value: Any, most: int = 100) -> int:
    """A whole number from 0 to most (a count that may be zero, such as retries)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise ConfigError(f"{name} {value!r}: expected a whole number from 0 to {most}")
    return value


def _checked(name: str, check: Callable[[Any], Any], value: Any) -> Any:
    """check(value) (a measure.validate check), its error named after the option or key."""
    try:
        return check(value)
    except validate.InvalidValue as exc:  # named after the key the user wrote it under
        raise ConfigError(f"{name} {value!r}: {exc.reason}") from None


def _sources(name: str, value: Any) -> list[str]:
    """A list of IPv4/IPv6 prefixes (or addresses), or "this-machine"."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} {value!r}: give a list of prefixes, e.g. [192.0.2.7/32]")
    for item in value:
        if item == "this-machine":
            continue
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ConfigError(f"{name} {item!r}: not an IP prefix (such as 192.0.2.0/24) nor this-machine") from None
    return [str(v) for v in value]


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{name} {value!r}: choose one of {', '.join(choices)}")
    return str(value)


def _optional(name: str, check: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else _checked(name, check, value)


def _cidrs(value: Any) -> tuple[str, str]:
    """The two test subnets (network 1, network 2) as IPv4 or IPv6 prefixes."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"cidrs {value!r}: give two subnets, e.g. [192.168.1.0/24, 192.168.2.0/24]")
    try:
        nets = tuple(str(ipaddress.ip_network(str(v), strict=False)) for v in value)
    except ValueError as exc:
        raise ConfigError(f"cidrs {value!r}: {exc}") from None
    return nets[0], nets[1]


def build(overrides: dict[str, Any], config_file: str | None = None, user_file: Path | None = None,
          read_user_file: bool = True) -> VmtpConfig:
    """Merge, in VMTP's order: defaults, ~/.vmtp.yaml (user_file; VMTP's format, read when it
    exists unless read_user_file is false), the config file and the options that were given
    (keys of defaults.yaml; None values are ignored)."""
    defaults = load_defaults()
    merged = dict(defaults)
    warnings: list[str] = []
    files: list[str] = []
    from_file: dict[str, Any] = {}  # what the files set (the flavor merges over defaults.yaml's)
    user_file = user_file or (user_vmtp_file() if read_user_file else None)
    if user_file is not None:
        settings, notes = load_file(user_file, vmtp=True, label="VMTP's per-user config")
        merged.update(settings)
        from_file.update(settings)
        warnings += notes
        files.append(str(user_file))
    if config_file:
        settings, notes = load_file(config_file)
        merged.update(settings)
        from_file.update(settings)
        warnings += notes
        files.append(str(config_file))
    merged.update({k: v for k, v in overrides.items() if v is not None and k in merged})

    tool = str(merged["tool"])
    if tool not in TOOLS:
        raise ConfigError(f"--vmtp-tool {tool!r}: choose one of {', '.join(TOOLS)}")
    try:
        protocols = parse_protocols(str(merged["protocols"]))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    lo, hi = _loss_target(merged["udp_loss_target"])
    measure = MeasureSettings(
        tool=tool,
        duration_s=_positive("--vmtp-time", merged["duration_s"]),
        tcp_pkt_sizes=_sizes("--vmtp-tcp-pkt-sizes", merged["tcp_pkt_sizes"], largest=1 << 24),
        tcp_runs=_positive("tcp_runs", merged["tcp_runs"]),
        udp_pkt_sizes=_sizes("--vmtp-udp-pkt-sizes", merged["udp_pkt_sizes"]),
        icmp_pkt_sizes=_sizes("--vmtp-icmp-pkt-sizes", merged["icmp_pkt_sizes"]),
        ping_count=_positive("--vmtp-ping-count", merged["ping_count"]),
        ping_interval_s=_positive("ping_interval_s", merged["ping_interval_s"], float),
        bandwidth_kbps=parse_bandwidth(merged["bandwidth"]),
        udp_loss_target=(lo, hi),
        udp_probe_s=_positive("udp_probe_s", merged["udp_probe_s"]),
        udp_search_max_probes=_positive("udp_search_max_probes", merged["udp_search_max_probes"]),
        udp_search_start_kbps=_positive("udp_search_start_kbps", merged["udp_search_start_kbps"]),
        nuttcp_data_port=_checked("nuttcp_data_port", validate.port, merged["nuttcp_data_port"]),
        nuttcp_control_port=_checked("nuttcp_control_port", validate.port, merged["nuttcp_control_port"]),
        iperf_port=_checked("iperf_port", validate.port, merged["iperf_port"]),
        multicast_group=_checked("multicast_group", validate.multicast_group, merged["multicast_group"]),
        multicast_tool=_choice("multicast_tool", merged["multicast_tool"], MULTICAST_TOOLS),
        tcp_buffer=_optional("tcp_buffer", validate.buffer_size, merged["tcp_buffer"]),
        udp_buffer=_optional("udp_buffer", validate.buffer_size, merged["udp_buffer"]),
        command_grace_s=_positive("command_grace_s", merged["command_grace_s"], float),
        ssh_keepalive_s=_positive("ssh_keepalive_s", merged["ssh_keepalive_s"], float),
    )
    for key in ("boot_timeout_s", "ssh_timeout_s", "api_retry_budget_s", "api_retry_after_max_s", "api_timeout_s"):
        merged[key] = _positive(key, merged[key], float)
    merged["api_retries"] = _whole("api_retries", merged["api_retries"])
    merged["cidrs"] = list(_cidrs(merged["cidrs"]))
    merged["flow_sources"] = _sources("flow_sources", merged["flow_sources"])
    if merged["ssh_from"] != "auto":
        merged["ssh_from"] = _sources("ssh_from", merged["ssh_from"])
    if not isinstance(merged["accept_new_host_keys"], bool):
        raise ConfigError(f"accept_new_host_keys {merged['accept_new_host_keys']!r}: use true or false")
    host_key_policy = "accept-new" if merged["accept_new_host_keys"] else "strict"
    hosts = _native_hosts(merged["hosts"])
    if not isinstance(merged["native_intra_host"], bool):
        raise ConfigError(f"native_intra_host {merged['native_intra_host']!r}: use true or false")
    external = merged["external_host"]
    if external and external != "local":
        _check_host_spec("--vmtp-external-host", external)
    hyps = merged["hypervisors"] or []
    if len(hyps) > 2:
        raise ConfigError("--vmtp-hypervisor: give it at most twice (server host, client host)")
    _network_modes(merged)
    try:
        config_boot.normalise(merged, from_file.get("flavor"), overrides.get("flavor"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    # As the openstack CLI: an explicit name, else OS_CLOUD; with neither, the local cloud.
    cloud_name = merged["cloud"] or os.environ.get("OS_CLOUD") or LOCAL_CLOUD
    json_path = merged["json"]
    return VmtpConfig(
        measure=measure,
        protocols=protocols,
        hosts=hosts,
        external_host=external,
        cloud_name=str(cloud_name),
        cloud={k: merged[k] for k in CLOUD_KEYS},
        json_path=Path(json_path) if json_path else None,
        description=merged["description"],
        history=_history(merged),
        mongod=_mongod(merged),
        gate=_gate(merged, defaults, config_file),
        baseline=str(merged["baseline"]) if merged["baseline"] else None,
        raw=merged,
        host_key_policy=host_key_policy,
        host_cpu=_host_cpu(merged),
        warnings=tuple(warnings),
        files=tuple(files),
        scale=_scale(merged),
    )


def _scale(merged: dict[str, Any]) -> ScaleSettings:
    """--vmtp-pairs and --vmtp-progression (README "Scale mode")."""
    pairs = merged["pairs"]
    if isinstance(pairs, bool) or not isinstance(pairs, int) or not 1 <= pairs <= MAX_PAIRS:
        raise ConfigError(f"--vmtp-pairs {pairs!r}: give a whole number of pairs from 1 to {MAX_PAIRS}")
    progression = merged["progression"]
    if progression is not None and progression not in PROGRESSIONS:
        raise ConfigError(f"--vmtp-progression {progression!r}: use one of {', '.join(PROGRESSIONS)}")
    if progression is not None and pairs < 2:
        raise ConfigError(f"--vmtp-progression {progression}: give its largest step with --vmtp-pairs N "
                          "(2 or more)")
    if pairs > 1 and merged["footprint"] == "minimal":
        raise ConfigError(f"--vmtp-pairs {pairs} boots {pairs} server VMs and their clients at once: "
                          "--vmtp-footprint minimal (two VMs at a time) cannot run it")
    return ScaleSettings(pairs=pairs, progression=progression,
                         start_lead_s=_positive("pairs_start_lead_s", merged["pairs_start_lead_s"], float),
                         start_lead_per_pair_s=float(merged["pairs_start_lead_per_pair_s"] or 0))


def _names(name: str, value: Any, most: int) -> list[str]:
    """A list of up to `most` names (a single one may be given as a string)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in items):
        raise ConfigError(f"{name} {value!r}: give names, e.g. [provider-net]")
    if len(items) > most:
        raise ConfigError(f"{name}: give at most {most} (network 1, network 2)")
    return [v.strip() for v in items]


def _network_modes(merged: dict[str, Any]) -> None:
    """The cloud's network settings (README "Cloud modes"), normalised in place."""
    merged["networks"] = _names("--vmtp-network", merged["networks"] or [], 2)
    servers = merged["dns_nameservers"] or []
    if isinstance(servers, str):
        servers = [v.strip() for v in servers.split(",") if v.strip()]
    for server in servers:
        try:
            ipaddress.ip_address(str(server))
        except ValueError:
            raise ConfigError(f"--vmtp-dns-nameservers {server!r}: not an IP address") from None
    merged["dns_nameservers"] = [str(v) for v in servers]
    if not isinstance(merged["floating_ips"], bool):
        raise ConfigError(f"floating_ips {merged['floating_ips']!r}: use true or false")
    for key in ("router", "security_group", "key_pair", "private_key", "availability_zone"):
        if merged[key] is not None and (not isinstance(merged[key], str) or not merged[key].strip()):
            raise ConfigError(f"{key} {merged[key]!r}: give a name (or null)")
    if bool(merged["key_pair"]) != bool(merged["private_key"]):
        raise ConfigError("key_pair and private_key go together: the Nova key pair's name and its "
                          "private key file on this machine")
    if merged["private_key"]:
        merged["private_key"] = str(Path(merged["private_key"]).expanduser())
    if merged["ssh_jump"]:
        _check_host_spec("--vmtp-ssh-jump", str(merged["ssh_jump"]))
    _ipv6(merged)


def _ipv6(merged: dict[str, Any]) -> None:
    """ipv6_mode (VMTP's) and the two IPv6 subnets the run makes, normalised in place."""
    mode = merged["ipv6_mode"]
    if mode is not None and mode not in IPV6_MODES:
        raise ConfigError(f"--vmtp-ipv6-mode {mode!r}: choose one of {', '.join(IPV6_MODES)}")
    value = merged["ipv6_cidrs"]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"ipv6_cidrs {value!r}: give two IPv6 subnets, e.g. [fd00:1::/64, fd00:2::/64]")
    nets = []
    for item in value:
        try:
            net = ipaddress.ip_network(str(item), strict=False)
        except ValueError as exc:
            raise ConfigError(f"ipv6_cidrs {item!r}: {exc}") from None
        if net.version != 6 or net.prefixlen != 64:
            raise ConfigError(f"ipv6_cidrs {item!r}: give an IPv6 /64 (SLAAC forms EUI-64 addresses "
                              "in a /64), e.g. fd00:1::/64")
        nets.append(str(net))
    merged["ipv6_cidrs"] = nets


def _history(merged: dict[str, Any]) -> HistorySettings | None:
    """history: null/true (the default file), a path or URL, or false (off); tags need it on."""
    from pytest_vmtp.history.location import locate
    from pytest_vmtp.history.selectors import check_tags

    value, tags = merged["history"], merged["tags"] or []
    if isinstance(tags, str):
        tags = [tags]
    try:  # HistoryError lines start with "history ..." / "tag ...": the option's own name
        names = check_tags(tags)
        if value is False:
            if names:
                raise ConfigError(f"--vmtp-tag {names[0]}: the run is not stored (--vmtp-no-history, history: false)")
            return None
        if value is True or value is None:
            value = None
        elif not isinstance(value, str):
            raise ConfigError(f"history {value!r}: give a file path, a postgresql:// URL, null or false")
        locate(value)
    except HistoryError as exc:
        raise ConfigError(f"--vmtp-{exc}") from None
    timeout = _positive("history_connect_timeout_s", merged["history_connect_timeout_s"], float)
    return HistorySettings(location=value, tags=names, connect_timeout_s=timeout)


def _host_cpu(merged: dict[str, Any]) -> HostCpu:
    """--vmtp-gmond HOST[:PORT] (repeatable) and how to sample them."""
    specs = merged["gmond"] or []
    if isinstance(specs, str):
        specs = [specs]
    if not isinstance(specs, (list, tuple)):
        raise ConfigError(f"gmond {specs!r}: give a list of HOST[:PORT], e.g. [10.0.0.5, 10.0.0.6:8650]")
    port = _checked("gmond_port", validate.port, merged["gmond_port"])
    targets = []
    for spec in specs:
        try:
            targets.append(parse_target(str(spec), port))
        except ValueError as exc:
            raise ConfigError(f"--vmtp-gmond {spec!r}: {exc}") from None
    return HostCpu(targets=tuple(dict.fromkeys(targets)),
                   interval_s=_positive("gmond_interval_s", merged["gmond_interval_s"], float),
                   max_samples=_positive("gmond_max_samples", merged["gmond_max_samples"]),
                   timeout_s=_positive("gmond_timeout_s", merged["gmond_timeout_s"], float))


def _mongod(merged: dict[str, Any]) -> MongoTarget | None:
    from pytest_vmtp.history.mongo import parse_server

    if not merged["mongod_server"]:
        return None
    try:
        host, port = parse_server(str(merged["mongod_server"]), _positive("mongod_port", merged["mongod_port"]))
    except HistoryError as exc:
        raise ConfigError(str(exc)) from None
    return MongoTarget(host=host, port=port, database=str(merged["mongod_db"]),
                       collection=str(merged["mongod_collection"]),
                       timeout_s=_positive("mongod_timeout_s", merged["mongod_timeout_s"], float))


def _check_host_spec(option: str, spec: str, native: bool = False) -> str | None:
    """Raise ConfigError for a bad spec, or one naming a password variable that is not set;
    return a native host's listen= (VMTP's :ifname)."""
    from pytest_vmtp.measure.hostspec import masked_spec, parse_host_spec, parse_native_host

    try:
        if native:
            host = parse_native_host(spec)
            target, listen = host.target, host.listen
        else:
            target, listen = parse_host_spec(spec), None
    except ValueError as exc:
        raise ConfigError(f"{option} {masked_spec(spec)!r}: {exc}") from None
    if target.password_env and target.password_env not in os.environ:
        raise ConfigError(f"{option} {masked_spec(spec)!r}: password_env={target.password_env}: that environment "
                          "variable is not set; export it before the run")
    return listen


def _native_hosts(value: Any) -> tuple[str, ...]:
    """--vmtp-host specs: one (intra-host) or two (intra-host and inter-host), a host given twice
    counted once (as VMTP); only the first, the server, may say where it listens."""
    hosts = [value] if isinstance(value, str) else list(value or [])
    hosts = list(dict.fromkeys(str(h).strip() for h in hosts))
    if len(hosts) > 2:
        raise ConfigError("--vmtp-host: give one host (intra-host) or two (intra-host and inter-host)")
    for index, spec in enumerate(hosts):
        listen = _check_host_spec("--vmtp-host", spec, native=True)
        if listen and index:
            raise ConfigError(f"--vmtp-host {spec!r}: listen= (VMTP's :ifname) applies to the server, the first "
                              "--vmtp-host; the second host is a client only")
    return tuple(hosts)


def _gate(merged: dict[str, Any], defaults: dict[str, Any], config_file: str | None) -> GateRules:
    """Thresholds of the file merged over defaults.yaml's; errors name the file and line."""
    from pytest_vmtp.gate import rules

    text = Path(config_file).read_text() if config_file else None
    try:
        return rules.build(merged["gate"], merged["sla"], config_file or "defaults.yaml", text,
                           defaults["gate"]["thresholds"], defaults["gate"].get("noise_floor"))
    except RuleError as exc:
        raise ConfigError(str(exc)) from None
