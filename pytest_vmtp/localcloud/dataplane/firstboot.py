"""A local-cloud VM's first boot with a config drive: its network stage, as cloud-init's.

Run inside the VM's network namespace (`ip netns exec NS python -I firstboot.py DRIVE`) before
the VM's sshd starts, with the standard library only. It knows nothing but the drive: for
each network of type `ipv4` (static: the subnet has no DHCP) in
DRIVE/openstack/latest/network_data.json it finds the interface whose MAC the network's link
names, and gives it the address, MTU and routes. Networks of type `ipv4_dhcp` are left to
DHCP (the data path stands for it). Exit status 1 with one line on stderr when the drive
says something this VM cannot apply.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

NETWORK_DATA = Path("openstack/latest/network_data.json")


def interfaces() -> dict[str, str]:
    """MAC -> interface name in this namespace (`ip netns exec` mounts its own /sys)."""
    out = {}
    for dev in Path("/sys/class/net").iterdir():
        address = dev / "address"
        if address.exists():
            out[address.read_text().strip().lower()] = dev.name
    return out


def commands(doc: dict[str, Any], by_mac: dict[str, str]) -> list[list[str]]:
    """The `ip` commands that apply the document's static IPv4 networks (pure)."""
    links = {link["id"]: link for link in doc.get("links") or []}
    out: list[list[str]] = []
    for net in doc.get("networks") or []:
        if net.get("type") != "ipv4":
            continue
        link = links.get(net.get("link"))
        if link is None:
            raise ValueError(f"network {net.get('id')}: no link {net.get('link')!r}")
        mac = str(link.get("ethernet_mac_address") or "").lower()
        ifname = by_mac.get(mac)
        if ifname is None:
            raise ValueError(f"network {net.get('id')}: no interface with MAC {mac}")
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{net['netmask']}").prefixlen
        up = ["ip", "link", "set", "dev", ifname, "up"]
        if link.get("mtu"):
            up[5:5] = ["mtu", str(link["mtu"])]
        out.append(up)
        out.append(["ip", "address", "replace", f"{net['ip_address']}/{prefix}", "dev", ifname])
        for route in net.get("routes") or []:
            target = ipaddress.IPv4Network(f"{route['network']}/{route['netmask']}")
            dst = "default" if target.prefixlen == 0 else str(target)
            out.append(["ip", "route", "replace", dst, "via", route["gateway"], "dev", ifname])
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: firstboot.py CONFIG_DRIVE_DIR", file=sys.stderr)
        return 2
    path = Path(argv[1]) / NETWORK_DATA
    try:
        doc = json.loads(path.read_text())
        todo = commands(doc, interfaces())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"firstboot: {path}: {exc}", file=sys.stderr)
        return 1
    for cmd in todo:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"firstboot: {' '.join(cmd)}: {done.stderr.strip()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
