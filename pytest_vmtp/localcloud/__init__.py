"""The local cloud: an OpenStack API subset on loopback over a real Neutron-style data path.

A separate program: the plugin starts and stops it through control.py (the only module it
imports from here) and reaches it only through openstacksdk (HTTP) and SSH.
"""
