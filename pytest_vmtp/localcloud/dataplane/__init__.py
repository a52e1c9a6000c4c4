"""Kernel objects behind the local cloud's API (namespaces, bridges, VXLAN, NAT, sshd).

Layout (prefix "vlc", defaults):
  root ns        vlc-mgmt 198.51.100.1/24 (management + VXLAN underlay)
                 vlc-ex   203.0.113.1/24  (external network "public", floating IPs)
  vlc-network    network node, 198.51.100.10 on mgmt0; holds routers' qr- bridge peers
  vlc-computeN   compute hosts, 198.51.100.(10+N) on mgmt0; per network brq<net11> +
                 vxlan-<vni> (UDP 4789, static 00:00.. FDB to every peer); VM taps
  vlc-vm-<id8>   a server: eth0.. (port MAC/IP/MTU), default route, sshd on :22
  vlc-qrouter-<id8>  a router: qr-<port11> legs, qg-<router11> on vlc-ex, iptables NAT
Security groups: stateful iptables physdev chains in the compute host namespace, as Neutron's
iptables firewall driver (see security.py). Only one cloud can own a pair of ranges at a time
(start() refuses otherwise); give a second cloud other ranges (mgmt_cidr=, external_cidr=).
After a crash: LinuxDataplane.clean(prefix, state_dir) (or dataplane.clean).
"""

from .linux import LinuxDataplane, clean
from .model import Dataplane, PortSpec, SecurityRule, ServerSpec
from .nl import DataplaneError

__all__ = ["Dataplane", "DataplaneError", "LinuxDataplane", "PortSpec", "SecurityRule",
           "ServerSpec", "clean"]
