"""pytest hooks of pytest-vmtp (kept thin: logic lives in plain modules)."""
