"""pytest-vmtp: VMTP's data-path performance scenarios as pytest test cases."""

__version__ = "0.1.0"
