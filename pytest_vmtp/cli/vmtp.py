"""`vmtp`: VMTP's own command line, run as pytest-vmtp's scenarios (see pytest_vmtp/compat/command.py)."""

from __future__ import annotations

import sys

from pytest_vmtp.compat.command import main

if __name__ == "__main__":
    sys.exit(main())
