"""Shared fixtures of pytest-vmtp's own tests."""

pytest_plugins = ["pytester"]
