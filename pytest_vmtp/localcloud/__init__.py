"""The local cloud: an OpenStack API subset on loopback over a real Neutron-style data path.

A separate program: the plugin reaches it only through openstacksdk (HTTP) and SSH.
"""
