"""`vmtp-localcloud status`: what the running cloud holds, asked through its own API."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from . import process
from .layout import CLOUD_NAME, CLOUDS_FILE

NOT_RUNNING = 3  # LSB: program is not running


class ApiClient:
    """Just enough of a client: one token, GETs against catalog paths."""

    def __init__(self, clouds_yaml: Path) -> None:
        auth = yaml.safe_load(clouds_yaml.read_text())["clouds"][CLOUD_NAME]["auth"]
        self.root = auth["auth_url"].rsplit("/identity", 1)[0]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth["user_domain_name"]}}}},
            "scope": {"project": {"name": auth["project_name"],
                                  "domain": {"name": auth["project_domain_name"]}}}}}
        req = urllib.request.Request(f"{self.root}/identity/v3/auth/tokens",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            self._token = resp.headers["X-Subject-Token"]

    def get(self, path: str) -> dict[str, Any]:
        req = urllib.request.Request(self.root + path, headers={
            "X-Auth-Token": self._token, "OpenStack-API-Version": "compute 2.79"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
            return doc


def print_status(state_dir: Path) -> int:
    info = process.read_server_file(state_dir)
    if not info or not process.is_ours(int(info["pid"])) or not info.get("port"):
        snapshot = process.read_snapshot(state_dir)
        if snapshot or info:
            print(f"local cloud in {state_dir}: not running (crashed: state left behind; "
                  "`vmtp-localcloud start` recovers it, `clean` removes it)")
            if snapshot:
                _print_snapshot(snapshot)
        else:
            print(f"local cloud in {state_dir}: not running")
        return NOT_RUNNING
    api = ApiClient(state_dir / CLOUDS_FILE)
    print(f"local cloud in {state_dir}: running (pid {info['pid']}, "
          f"http://127.0.0.1:{info['port']}/identity, prefix {info.get('prefix')})")
    hyps = api.get("/compute/v2.1/os-hypervisors/detail")["hypervisors"]
    print(f"hosts ({len(hyps)}):")
    for h in hyps:
        print(f"  {h['hypervisor_hostname']:<12} {h['host_ip']:<16} {h['state']}/{h['status']} "
              f"vms={h['running_vms']}")
    nets = api.get("/network/v2.0/networks")["networks"]
    subnets = {s["id"]: s for s in api.get("/network/v2.0/subnets")["subnets"]}
    print(f"networks ({len(nets)}):")
    for n in nets:
        cidrs = ",".join(subnets[s]["cidr"] for s in n["subnets"] if s in subnets)
        kind = "external" if n["router:external"] else f"vxlan {n['provider:segmentation_id']}"
        print(f"  {n['name'] or '-':<20} {n['id']} {kind:<12} {cidrs}")
    routers = api.get("/network/v2.0/routers")["routers"]
    print(f"routers ({len(routers)}):")
    for r in routers:
        gw = r["external_gateway_info"] or {}
        ips = ",".join(ip["ip_address"] for ip in gw.get("external_fixed_ips", []))
        print(f"  {r['name'] or '-':<20} {r['id']} gateway={ips or '-'}")
    servers = api.get("/compute/v2.1/servers/detail?all_tenants=1")["servers"]
    print(f"servers ({len(servers)}):")
    for s in servers:
        addrs = "; ".join(f"{net}=" + ",".join(a["addr"] for a in items)
                          for net, items in s["addresses"].items())
        print(f"  {s['name']:<20} {s['id']} {s['status']:<7} "
              f"{s['OS-EXT-SRV-ATTR:host'] or '-':<10} {addrs}")
    fips = api.get("/network/v2.0/floatingips")["floatingips"]
    print(f"floating IPs ({len(fips)}):")
    for f in fips:
        print(f"  {f['floating_ip_address']:<16} -> {f['fixed_ip_address'] or '-':<16} "
              f"{f['status']}")
    _print_faults(api.get("/admin/faults")["faults"])
    return 0


def _print_faults(faults: dict[str, Any]) -> None:
    """The fault document in force (its keys) and faults.yaml's error, if it has one."""
    document = faults.get("document") or {}
    keys = ", ".join(f"{k} ({len(v)})" if isinstance(v, list) else k
                     for k, v in document.items() if v)
    print(f"faults: {keys or 'none'}")
    if faults.get("file_error"):
        print(f"  error: {faults['file_error']}")


def _print_snapshot(snapshot: dict[str, Any]) -> None:
    """What the last snapshot says was built (prefix, hosts, resources by name)."""
    tables = snapshot.get("tables", {})
    print(f"last snapshot: prefix {snapshot.get('prefix')}, hosts "
          f"{', '.join(snapshot.get('hosts', []))}")
    for title, table, label in (("networks", "networks", "name"), ("routers", "routers", "name"),
                                ("servers", "servers", "name"),
                                ("floating IPs", "floatingips", "floating_ip_address")):
        items = list(tables.get(table, {}).values())
        names = ", ".join(str(i.get(label) or i.get("id")) for i in items)
        print(f"  {title} ({len(items)}): {names}")
