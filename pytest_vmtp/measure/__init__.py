"""Measurement engine: where commands run (runners), the tools and their pure parsers.

Knows nothing of OpenStack or pytest: it is given two runners and an address.
"""
