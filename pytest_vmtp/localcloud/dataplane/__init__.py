"""Kernel objects behind the local cloud's API (namespaces, bridges, VXLAN, NAT, sshd)."""
