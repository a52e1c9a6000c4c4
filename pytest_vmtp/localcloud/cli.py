"""`vmtp-localcloud start|stop|status|clean`: argument parsing over control.py and status.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import control
from .layout import DEFAULT_PREFIX, DEFAULT_STATE_DIR, STATE_DIR_ENV


def _cmd_start(args: argparse.Namespace) -> int:
    zones = []
    for item in args.zone:
        host, sep, zone = item.partition("=")
        if not sep or not host or not zone:
            raise control.CloudError(f"--zone {item!r}: expected HOST=ZONE, e.g. compute2=az2")
        zones.append((host, zone))
    networking = control.Networking(
        physical_networks=tuple(n for n in args.physical_networks.split(",") if n),
        zones=tuple(zones), external_network=not args.no_external_network,
        multicast_relay=not args.no_multicast_relay)
    handle = control.start(args.state_dir, args.port, args.compute_hosts, args.prefix,
                           mgmt_cidr=args.mgmt_cidr, external_cidr=args.external_cidr,
                           networking=networking, token_lifetime=args.token_lifetime)
    if handle.already_running:
        print(f"local cloud already running (pid {handle.pid}, {handle.auth_url})")
    else:
        print(f"local cloud started (pid {handle.pid}, {handle.auth_url})")
    print(f"clouds.yaml: {handle.clouds_yaml} (clouds '{handle.cloud_name}': user admin, "
          f"'{control.MEMBER_CLOUD_NAME}': user demo, a member of project demo)")
    print(f"export OS_CLIENT_CONFIG_FILE={handle.clouds_yaml} OS_CLOUD={handle.cloud_name}")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    if control.stop(args.state_dir):
        print("local cloud stopped")
    else:
        print("local cloud not running")
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    control.clean(args.state_dir, args.prefix)
    print(f"local cloud state in {args.state_dir or control.default_state_dir()} cleaned")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from .status import print_status

    return print_status(Path(args.state_dir or control.default_state_dir()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vmtp-localcloud", description="An OpenStack API subset on 127.0.0.1 whose "
        "resources are real Linux network objects.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=None,
                        help=f"default ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR}")
    start = sub.add_parser("start", parents=[common], help="start the cloud (idempotent)")
    start.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    start.add_argument("--compute-hosts", type=int, default=2)
    start.add_argument("--prefix", default=DEFAULT_PREFIX,
                       help="name prefix of every kernel object (1-5 characters)")
    start.add_argument("--mgmt-cidr", default=None,
                       help="compute hosts' management /24 (default 198.51.100.0/24)")
    start.add_argument("--external-cidr", default=None,
                       help="external network /24 (default 203.0.113.0/24)")
    start.add_argument("--physical-networks", default="physnet1", metavar="LIST",
                       help="physical networks of provider networks, comma-separated "
                            "(default physnet1; '' for none)")
    start.add_argument("--zone", action="append", default=[], metavar="HOST=ZONE",
                       help="a compute host's availability zone, e.g. compute2=az2 "
                            "(repeatable; the others are in nova)")
    start.add_argument("--no-external-network", action="store_true",
                       help="no external network: no floating IPs nor router gateways, and "
                            "the external range is not used")
    start.add_argument("--no-multicast-relay", action="store_true",
                       help="routers forward no multicast, as Neutron's L3 agent (default: they "
                            "relay it between their networks to groups with listeners, as an "
                            "ML2/OVN cloud whose routers have mcast_relay)")
    start.add_argument("--token-lifetime", type=float, default=None, metavar="SECONDS",
                       help="how long a Keystone token lives (default 14400, 4 h)")
    start.set_defaults(func=_cmd_start)
    sub.add_parser("stop", parents=[common], help="stop and remove everything").set_defaults(
        func=_cmd_stop)
    sub.add_parser("status", parents=[common], help="what the cloud holds").set_defaults(
        func=_cmd_status)
    clean = sub.add_parser("clean", parents=[common], help="remove leftovers after a crash")
    clean.add_argument("--prefix", default=None, help="default: from the state dir, else vlc")
    clean.set_defaults(func=_cmd_clean)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except control.CloudError as exc:
        print(f"vmtp-localcloud: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the user; details are in the server log
        print(f"vmtp-localcloud: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
