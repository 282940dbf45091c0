"""The checkpoint manifest of a run folder: what a resume may trust.

``run_dir/manifest.json`` lists every complete checkpoint with the SHA-256 digest of each file
it consists of, the digest of ``config.json`` at the time, and a digest of the manifest's own
canonical form::

    {"format": "neuroplast.run-manifest", "version": 1,
     "config_sha256": "<hex>" | null, "generation": 3,
     "checkpoints": [{"generation": 3,
                      "files": {"gen_0003.json": "<hex>", "gen_0003.npl": "<hex>"}}, ...],
     "sha256": "<hex of the canonical JSON of everything else>"}

It is written last, atomically, after the checkpoint's files, so it only ever names complete
checkpoints; files it does not name are ignored. Reading it checks the schema, its own digest,
the config digest and, for the checkpoint being loaded, every file's digest, and raises a
:class:`~neuroplast.SerializationError` naming the first file that does not match. Digests
detect corruption and accidental edits (a changed byte, a swapped or older file); they are not
a signature against someone who rewrites the manifest on purpose.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neuroplast._json import loads
from neuroplast.errors import SerializationError

__all__ = ["FORMAT", "VERSION", "Manifest", "digest", "digest_file"]

FORMAT = "neuroplast.run-manifest"
VERSION = 1
_HEX = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"format", "version", "config_sha256", "generation", "checkpoints", "sha256"}


def digest(chunks: Iterable[bytes]) -> str:
    """SHA-256 (hex) of the concatenated ``chunks``."""
    h = hashlib.sha256()
    for piece in chunks:
        h.update(piece)
    return h.hexdigest()


def digest_file(path: Path) -> str | None:
    """SHA-256 (hex) of a file's content, ``None`` if it does not exist."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SerializationError(f"cannot read {path}: {exc}") from exc


def stem(generation: int) -> str:
    """``gen_0003``: the file stem of a generation's checkpoint."""
    return f"gen_{generation:04d}"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class Manifest:
    """The parsed, validated manifest (see the module docstring)."""

    def __init__(self, config_sha256: str | None, entries: dict[int, dict[str, str]]) -> None:
        self.config_sha256 = config_sha256
        self.entries = entries

    # ------------------------------------------------------------------ writing
    def with_checkpoint(
        self, generation: int, files: dict[str, str], config_sha256: str | None
    ) -> Manifest:
        """A copy with ``generation``'s entry set to ``files`` (name → digest)."""
        return Manifest(config_sha256, {**self.entries, generation: dict(files)})

    def to_bytes(self) -> bytes:
        """The manifest file's content."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "config_sha256": self.config_sha256,
            "generation": max(self.entries) if self.entries else None,
            "checkpoints": [
                {"generation": g, "files": dict(sorted(self.entries[g].items()))}
                for g in sorted(self.entries)
            ],
        }
        body["sha256"] = digest([_canonical(body)])
        return json.dumps(body, indent=1, sort_keys=True).encode()

    # ------------------------------------------------------------------ reading
    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest in ``path``, ``None`` if there is none; SerializationError if invalid."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SerializationError(f"cannot read {path}: {exc}") from exc
        doc = loads(raw, SerializationError, f"the checkpoint manifest {path}")
        return cls._validated(doc, path)

    @classmethod
    def _validated(cls, doc: object, path: Path) -> Manifest:
        def bad(why: str) -> SerializationError:
            return SerializationError(f"the checkpoint manifest {path} is invalid: {why}")

        if not isinstance(doc, dict) or set(doc) != _KEYS:
            raise bad(f"expected an object with the keys {sorted(_KEYS)}")
        if doc["format"] != FORMAT or doc["version"] != VERSION:
            raise bad(f"unknown format {doc['format']!r} version {doc['version']!r}")
        body = {k: v for k, v in doc.items() if k != "sha256"}
        if doc["sha256"] != digest([_canonical(body)]):
            raise bad("its checksum does not match its content (the file was changed)")
        config = doc["config_sha256"]
        if config is not None and not (isinstance(config, str) and _HEX.match(config)):
            raise bad("config_sha256 is not a SHA-256 digest")
        entries = cls._entries(doc["checkpoints"], bad)
        latest = max(entries) if entries else None
        if doc["generation"] != latest or type(doc["generation"]) not in (int, type(None)):
            raise bad(f"generation {doc['generation']!r} is not the newest checkpoint {latest}")
        return cls(config, entries)

    @staticmethod
    def _entries(items: object, bad: Any) -> dict[int, dict[str, str]]:
        if not isinstance(items, list):
            raise bad("checkpoints is not a list")
        entries: dict[int, dict[str, str]] = {}
        for item in items:
            if not isinstance(item, dict) or set(item) != {"generation", "files"}:
                raise bad("a checkpoint entry is not {generation, files}")
            g, files = item["generation"], item["files"]
            if type(g) is not int or g < 0 or g in entries:
                raise bad(f"bad or repeated generation {g!r}")
            names = {f"{stem(g)}.npl", f"{stem(g)}.json"}
            if not isinstance(files, dict) or set(files) != names:
                raise bad(f"generation {g} must list exactly {sorted(names)}")
            if not all(isinstance(v, str) and _HEX.match(v) for v in files.values()):
                raise bad(f"generation {g} has a digest that is not SHA-256")
            entries[g] = dict(files)
        return entries

    def verify(self, folder: Path, generation: int, config: Path) -> None:
        """Checks the config digest and every file of ``generation``'s checkpoint."""
        if generation not in self.entries:
            raise SerializationError(f"the manifest in {folder} has no checkpoint {generation}")
        if digest_file(config) != self.config_sha256:
            raise SerializationError(
                f"{config} is not the one the checkpoints were written with (its SHA-256 "
                "differs from the manifest's)"
            )
        for name, want in sorted(self.entries[generation].items()):
            path = folder / "checkpoints" / name
            got = digest_file(path)
            if got is None:
                raise SerializationError(f"checkpoint file {path} is missing")
            if got != want:
                raise SerializationError(
                    f"checkpoint file {path} does not match the manifest (SHA-256 {got[:12]}…, "
                    f"expected {want[:12]}…): it was changed, corrupted or replaced"
                )
