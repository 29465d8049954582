"""Ed25519 keys for signed checkpoints: generated, written, loaded, and shown as text.

The private key signs checkpoints and stays with whoever takes them (a PEM file readable
by its owner only); auditors are given the public key, as a PEM file or as the base64 text
of its 32 raw bytes that checkpoints record.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from recovery.errors import ConfigurationError


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_private_key(key: Ed25519PrivateKey, path: Path, *, overwrite: bool = False) -> None:
    """PKCS#8 PEM, readable by its owner only; an existing file is kept unless `overwrite`."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"{path} already exists; not overwriting a key") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as printed and stored in checkpoints: base64 of its 32 raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 key")
    return key


def load_public_key(value: str) -> Ed25519PublicKey:
    """A public key given as a file (PEM, or the base64 text) or as the base64 text itself."""
    text = value.strip()
    path = Path(text)
    if len(text) < 4096 and path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read the public key {path}: {exc}") from None
    if "PRIVATE KEY" in text:
        raise ConfigurationError("give the public key, not the private key")
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigurationError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ConfigurationError(
            f"not an Ed25519 public key (PEM file or base64 text): {value!r}: {exc}"
        ) from None
