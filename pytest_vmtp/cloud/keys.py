"""The run's SSH key: made locally (the private key never leaves this machine), then imported."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def make_keypair(private_path: Path, comment: str) -> str:
    """Write an ed25519 private key (OpenSSH format, mode 0600) and return the public key line.

    Reuses the key already at private_path, so a second process gets the same public key."""
    if private_path.exists():
        key = serialization.load_ssh_private_key(private_path.read_bytes(), password=None)
    else:
        key = Ed25519PrivateKey.generate()
        data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption())
        private_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = private_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, private_path)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{public.decode()} {comment}"
