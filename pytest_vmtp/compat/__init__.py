"""VMTP users' own inputs, read as VMTP read them: its YAML config keys (vmtp_config), its
command-line flags (vmtp_flags), its openrc files (openrc), and the `vmtp` command (command)."""
