"""The local cloud's server process: data path + API on 127.0.0.1, until SIGTERM.

Started by control.start() (`vmtp-localcloud start`) as a detached child; reads the admin's and
the demo user's passwords from stdin (a line each) so they are never on a command line or in
the environment. Writes `server.json`
(pid, port, status) in the state dir; on SIGTERM it deletes every kernel object it made.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from . import bootstrap, keys, keystone, process, recovery
from .app import create_app
from .context import Cloud
from .dataplane.cleanup import workdir_path
from .dataplane.model import Dataplane
from .faultplane import FaultPlane
from .faults import FaultBook
from .layout import (
    DATAPLANE_DIR,
    DATAPLANE_ENV,
    DEFAULT_DATAPLANE,
    DEFAULT_PREFIX,
    HOSTS_GMOND,
    HOSTS_KEY,
    HOSTS_KNOWN_HOSTS,
    IMAGES_DIR,
    SERVER_FILE,
    SERVER_MODULE,
    SNAPSHOT,
    TOKEN_KEY,
    load_dataplane_class,
)
from .state import CloudState
from .tokens import TOKEN_LIFETIME, TokenStore, load_key


def write_server_file(state_dir: Path, **fields: str | int | None) -> None:
    tmp = state_dir / (SERVER_FILE + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **fields}))
    os.replace(tmp, state_dir / SERVER_FILE)


def operator_key(state_dir: Path) -> str:
    """The operator's SSH key to the compute hosts (like a deployer's key on real nodes):
    private half in the state dir (0600), public half authorised on every host's sshd, so
    native host-to-host scenarios can run on the local cloud's hypervisors."""
    private = state_dir / HOSTS_KEY
    public = state_dir / f"{HOSTS_KEY}.pub"
    if not private.exists() or not public.exists():
        pub, priv = keys.generate("vmtp-localcloud-operator")
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(priv)
        public.write_text(pub + "\n")
    return public.read_text()


def write_hosts_known_hosts(state_dir: Path, dataplane: Dataplane) -> None:
    """A known_hosts file for the compute hosts' sshd, so that SSH to them checks host keys
    (as an operator's known_hosts for real compute nodes does)."""
    key = dataplane.host_public_key()
    lines = "".join(f"{dataplane.host_address(host)} {key}\n" for host in dataplane.hosts())
    tmp = state_dir / (HOSTS_KNOWN_HOSTS + ".tmp")
    tmp.write_text(lines)
    os.replace(tmp, state_dir / HOSTS_KNOWN_HOSTS)


def write_hosts_gmond(state_dir: Path, dataplane: Dataplane) -> None:
    """Publish the port of the compute hosts' gmond (reached at Nova's hypervisor host_ip), as
    an operator knows where their cloud's Ganglia answers; no file when the hosts run none."""
    port = dataplane.host_gmond_port()
    path = state_dir / HOSTS_GMOND
    if port is None:
        path.unlink(missing_ok=True)
        return
    tmp = state_dir / (HOSTS_GMOND + ".tmp")
    tmp.write_text(json.dumps({"port": port}))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {SERVER_MODULE}")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--compute-hosts", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mgmt-cidr", default=None)
    parser.add_argument("--external-cidr", default=None)
    parser.add_argument("--physical-networks", default="physnet1",
                        help="comma-separated physical networks of provider networks ('' none)")
    parser.add_argument("--zone", action="append", default=[], metavar="HOST=ZONE",
                        help="a compute host's availability zone (others: nova)")
    parser.add_argument("--no-external-network", action="store_true",
                        help="no external network (no floating IPs, no router gateways)")
    parser.add_argument("--no-multicast-relay", action="store_true",
                        help="routers forward no multicast (Neutron's L3 agent); default: they "
                             "relay it between their networks, as OVN's mcast_relay")
    parser.add_argument("--dataplane", default=os.environ.get(DATAPLANE_ENV, DEFAULT_DATAPLANE))
    parser.add_argument("--recover", action="store_true",
                        help="rebuild the snapshot of a crashed server (recovery.py)")
    parser.add_argument("--token-lifetime", type=float, default=TOKEN_LIFETIME,
                        help="seconds a Keystone token lives (Keystone's [token] expiration)")
    args = parser.parse_args(argv)
    state_dir: Path = args.state_dir
    admin_password = sys.stdin.readline().strip()
    member_password = sys.stdin.readline().strip()
    if not admin_password or not member_password:
        print("error: no admin and demo passwords on stdin", flush=True)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if args.port and not process.port_free(args.port):
        print(f"error: port {args.port} on 127.0.0.1 is in use", flush=True)
        return 1
    dp_dir = state_dir / DATAPLANE_DIR
    dp_dir.mkdir(parents=True, exist_ok=True)
    ranges = {k: v for k, v in (("mgmt_cidr", args.mgmt_cidr),
                                ("external_cidr", args.external_cidr)) if v}
    physical_networks = tuple(n for n in args.physical_networks.split(",") if n)
    zones = dict(z.partition("=")[::2] for z in args.zone)
    snapshot = process.read_snapshot(state_dir) if args.recover else None
    try:
        dataplane_class = load_dataplane_class(args.dataplane)
        if args.recover:  # the crashed server's kernel objects go first
            recovery.clean_keeping_host_key(dataplane_class, args.prefix, dp_dir,
                                            workdir_path(dp_dir, args.prefix))
        dataplane = dataplane_class(
            prefix=args.prefix, compute_hosts=args.compute_hosts, state_dir=dp_dir, **ranges,
            physical_networks=physical_networks, external=not args.no_external_network,
            multicast_relay=not args.no_multicast_relay)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", flush=True)
        return 2
    # From here on kernel objects may exist: the pid and prefix on disk let `clean` find them.
    write_server_file(state_dir, prefix=args.prefix, port=None, status="starting",
                      dataplane=args.dataplane)
    cloud: Cloud | None = None
    try:
        dataplane.start(host_authorized_keys=operator_key(state_dir))
        write_hosts_known_hosts(state_dir, dataplane)
        write_hosts_gmond(state_dir, dataplane)
        state = CloudState(state_dir, args.prefix, list(dataplane.hosts()),
                           dataplane.physical_networks(), not args.no_external_network, zones)
        if snapshot:
            state.restore(snapshot)
        if not snapshot:  # a new cloud: the tokens of any earlier one mean nothing here
            (state_dir / TOKEN_KEY).unlink(missing_ok=True)
        tokens = TokenStore(load_key(state_dir / TOKEN_KEY), args.token_lifetime)
        cloud = Cloud(state=state, dataplane=dataplane,
                      faults=FaultBook(state_dir, dataplane.hosts()), tokens=tokens)
        keystone.bootstrap(cloud, admin_password, member_password)
        if snapshot:
            recovery.rebuild(cloud)
        else:
            bootstrap.populate(cloud)
        cloud.faultplane = FaultPlane(cloud)
        cloud.faultplane.start()
        try:
            httpd = make_server("127.0.0.1", args.port, create_app(cloud), threaded=True)
        except SystemExit:  # werkzeug's way of saying the port is taken
            raise RuntimeError(f"port {args.port} on 127.0.0.1 is in use") from None
        write_server_file(state_dir, prefix=args.prefix, port=httpd.server_port,
                          status="running", dataplane=args.dataplane)
        logging.info("local cloud listening on 127.0.0.1:%d", httpd.server_port)
        serving = threading.Thread(target=httpd.serve_forever, name="api", daemon=True)
        serving.start()
        stop.wait()
        logging.info("stopping")
        httpd.shutdown()
    except Exception as exc:
        logging.exception("local cloud failed: %s", exc)
        print(f"error: {exc}", flush=True)
        return 1
    finally:
        if cloud is not None:
            if cloud.faultplane is not None:
                cloud.faultplane.stop()
            cloud.workers.wait_idle(20.0)
        try:
            dataplane.stop()
        except Exception:
            logging.exception("data path teardown failed")
        for name in (SERVER_FILE, SNAPSHOT, TOKEN_KEY, HOSTS_GMOND):
            (state_dir / name).unlink(missing_ok=True)
        shutil.rmtree(state_dir / IMAGES_DIR, ignore_errors=True)  # the images went with the cloud
        logging.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
