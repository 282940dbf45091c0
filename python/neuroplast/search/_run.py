"""Run folders of the search controllers: history, final model, edit log, report, checkpoints.

Layout of a run folder::

    run_dir/
        config.json            controller name, config, seed and data fingerprint
        history.json           per-generation records and the run's summary
        final.npl              the final network (:mod:`neuroplast.io`)
        edits.json             the applied edits as an :class:`~neuroplast.morph.EditLog`
        report/*.png           plots (:mod:`neuroplast.search._report`)
        checkpoints/gen_0003.npl   network (parameters and optimizer state) after generation 3
        checkpoints/gen_0003.json  every other piece of state needed to continue
        manifest.json          the complete checkpoints and the SHA-256 of each of their files
        .lock                  held by the process running in the folder

Every file is written atomically (a unique temporary file in the same folder, ``fsync``, then
``os.replace``; :mod:`neuroplast._files`). A checkpoint's files are written first and the
manifest (:mod:`neuroplast.search._manifest`) last, so :meth:`RunFolder.latest_checkpoint` only
ever sees complete checkpoints, and it verifies the manifest's schema and checksum, the digest
of ``config.json`` and the digest of every file it loads: a changed, corrupted, swapped or older
file is a :class:`~neuroplast.SerializationError` naming it, never a silently different resume.
Only one process at a time may use a folder (:mod:`neuroplast.search._runlock`).

Resume protocol: a controller saves, at the end of every generation, the network and a JSON
state holding everything else it needs: the generation index, its histories and logs, and the
state of every random generator it owns (:func:`rng_state` / :func:`rng_from_state`; controllers
that derive all their seeds from ``(seed, generation)`` need none). On ``resume`` it loads
:meth:`latest_checkpoint` and continues from the next generation; since training, edits and
evaluation are deterministic per seed and thread count, the resumed run ends bit-for-bit where
the uninterrupted one does.

Example:
    >>> import tempfile
    >>> from neuroplast import Network, Spec
    >>> run = RunFolder(tempfile.mkdtemp())
    >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    >>> run.save_checkpoint(0, net, {"generation": 0})
    >>> gen, _, state = run.latest_checkpoint()
    >>> gen, state["generation"]
    (0, 0)
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast import io
from neuroplast._arrays import check_int
from neuroplast._files import atomic_write, checked_path
from neuroplast._json import loads
from neuroplast.errors import ConfigError, SerializationError
from neuroplast.morph.record import EditLog
from neuroplast.network import Network
from neuroplast.search import _runlock
from neuroplast.search._manifest import Manifest, digest, digest_file, stem

__all__ = ["RunFolder", "atomic_write_text", "rng_from_state", "rng_state"]


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes ``text`` to ``path`` atomically (creating its folder; see :mod:`neuroplast._files`).

    Raises:
        SerializationError: The file cannot be written.
    """
    target = checked_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SerializationError(f"cannot create the folder of {target}: {exc}") from exc
    atomic_write(target, [text.encode("utf-8")])


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """JSON-compatible state of a NumPy generator (see :func:`rng_from_state`)."""
    state: Mapping[str, Any] = rng.bit_generator.state
    return dict(json.loads(json.dumps(dict(state))))


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator restored from :func:`rng_state` output (same future draws)."""
    name = state["bit_generator"]
    bitgen = getattr(np.random, name)()
    bitgen.state = dict(state)
    return np.random.Generator(bitgen)


def _scaffolding(p: Path) -> bool:
    """The lock file and an empty ``checkpoints`` folder: what a fresh ``RunFolder`` creates."""
    if p.name == _runlock.LOCK_NAME:
        return True
    return p.name == "checkpoints" and p.is_dir() and not any(p.iterdir())


class RunFolder:
    """A controller's output folder (see the module docstring for the layout).

    Args:
        path: The folder; created with its subfolders when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = checked_path(path, error=ConfigError)
        self.checkpoints = self.path / "checkpoints"
        self.report = self.path / "report"
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run folder {self.path}: {exc}") from exc
        key = _runlock.acquire(self.path)
        weakref.finalize(self, _runlock.release, key)

    @classmethod
    def open(
        cls, path: str | os.PathLike[str] | None, *, resume: bool, overwrite: bool
    ) -> RunFolder | None:
        """The run folder of a controller run, refusing to clobber an earlier run.

        Args:
            path: The folder (``None``: no folder; then ``resume`` is an error).
            resume: Continue the run already in ``path`` (a missing or empty folder starts
                a new run).
            overwrite: Delete an earlier run in ``path`` first.

        Raises:
            ConfigError: ``path`` holds files and neither flag is set, both flags are set,
                or ``resume`` without a folder.
        """
        if resume and overwrite:
            raise ConfigError("resume and overwrite exclude each other")
        if path is None:
            if resume:
                raise ConfigError("resume=True needs a run_dir")
            return None
        target = checked_path(path, error=ConfigError)
        if target.exists() and not target.is_dir():
            raise ConfigError(f"run_dir {target} exists and is not a folder")
        folder = cls(target)  # takes the folder's lock before looking at or deleting anything
        old = [p for p in target.iterdir() if not _scaffolding(p)]
        if old and overwrite:
            try:
                for p in old:
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p)
                    else:
                        p.unlink()
                folder.checkpoints.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot clear run folder {target}: {exc}") from exc
        elif old and not resume:
            raise ConfigError(
                f"run folder {target} already holds a run; pass overwrite=True (--overwrite) "
                "to replace it or resume=True (--resume) to continue it"
            )
        return folder

    @property
    def config_path(self) -> Path:
        """``config.json``."""
        return self.path / "config.json"

    def claim(
        self, controller: str, config: Mapping[str, Any], seed: int, data: Mapping[str, Any]
    ) -> None:
        """Writes ``config.json``, or checks that a resumed run used the same settings."""
        mine = json.loads(
            json.dumps(
                {"controller": controller, "config": dict(config), "seed": seed, "data": dict(data)}
            )
        )
        if self.config_path.exists():
            theirs = self._read_json(self.config_path)
            for key in ("controller", "config", "seed", "data"):
                if theirs.get(key) != mine[key]:
                    raise ConfigError(
                        f"the run in {self.path} was started with another {key}; resume with "
                        "the same settings, or pass overwrite=True (--overwrite) to start over"
                    )
            return
        atomic_write_text(self.config_path, json.dumps(mine, indent=1, sort_keys=True))

    def write_result(self, net: Network, edits: EditLog, history: Mapping[str, Any]) -> None:
        """Writes ``final.npl``, ``edits.json`` and ``history.json``."""
        self.write_final(net)
        self.write_edits(edits)
        self.write_history(history)

    def write_report(self, draw: Callable[[Path], None]) -> None:
        """Runs ``draw(report_folder)``; without matplotlib the report is skipped with a warning.

        A finished run never fails while drawing its figures for want of matplotlib.
        """
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            warnings.warn(
                f"matplotlib is not installed: no report in {self.report} (pip install matplotlib)",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        self.report.mkdir(parents=True, exist_ok=True)
        draw(self.report)

    # ------------------------------------------------------------------ final artefacts
    @property
    def history_path(self) -> Path:
        """``history.json``."""
        return self.path / "history.json"

    @property
    def final_path(self) -> Path:
        """``final.npl``."""
        return self.path / "final.npl"

    @property
    def edits_path(self) -> Path:
        """``edits.json``."""
        return self.path / "edits.json"

    def write_history(self, history: Mapping[str, Any]) -> None:
        """Writes ``history.json`` (indented, sorted keys)."""
        atomic_write_text(self.history_path, json.dumps(history, indent=1, sort_keys=True))

    def write_edits(self, log: EditLog) -> None:
        """Writes ``edits.json`` (replay with ``EditLog.from_json(text).replay(initial)``)."""
        atomic_write_text(self.edits_path, log.to_json())

    def write_final(self, net: Network) -> None:
        """Writes ``final.npl`` (atomic, see :func:`neuroplast.io.save`)."""
        net.save(self.final_path)

    def read_history(self) -> dict[str, Any]:
        """The content of ``history.json``."""
        return dict(json.loads(self.history_path.read_text(encoding="utf-8")))

    def _read_json(self, path: Path, raw: bytes | None = None) -> dict[str, Any]:
        """A JSON object from ``path`` (or its bytes ``raw``), else SerializationError."""
        if raw is None:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise SerializationError(f"cannot read {path}: {exc}") from exc
        doc = loads(raw, SerializationError, str(path))
        if not isinstance(doc, dict):
            raise SerializationError(f"{path} does not hold a JSON object")
        return doc

    # ------------------------------------------------------------------ checkpoints
    @property
    def manifest_path(self) -> Path:
        """``manifest.json``: the complete checkpoints and their files' digests."""
        return self.path / "manifest.json"

    def checkpoint_paths(self, generation: int) -> tuple[Path, Path]:
        """``(network file, state file)`` of a generation's checkpoint."""
        s = stem(check_int(generation, "generation", 0))
        return self.checkpoints / f"{s}.npl", self.checkpoints / f"{s}.json"

    def save_checkpoint(self, generation: int, net: Network, state: Mapping[str, Any]) -> None:
        """Saves a generation's network and state, then records both in the manifest."""
        net_path, state_path = self.checkpoint_paths(generation)
        manifest = Manifest.read(self.manifest_path) or Manifest(None, {})
        try:
            text = json.dumps(dict(state), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"checkpoint state is not JSON-serializable: {exc}") from exc
        net_bytes, state_bytes = io.encode(net), [text.encode("utf-8")]
        atomic_write(net_path, net_bytes)
        atomic_write(state_path, state_bytes)
        files = {net_path.name: digest(net_bytes), state_path.name: digest(state_bytes)}
        config = digest_file(self.config_path)
        atomic_write(
            self.manifest_path, [manifest.with_checkpoint(generation, files, config).to_bytes()]
        )

    def generations(self) -> list[int]:
        """Generations with a complete checkpoint (listed in the manifest), ascending.

        Raises:
            SerializationError: The manifest is invalid.
        """
        manifest = Manifest.read(self.manifest_path)
        return [] if manifest is None else sorted(manifest.entries)

    def load_checkpoint(self, generation: int) -> tuple[Network, dict[str, Any]]:
        """The network and state saved for ``generation``, after verifying them.

        Raises:
            SerializationError: No manifest or no entry for ``generation``; a file that does
                not match its digest (changed, corrupted, swapped, older), a ``config.json``
                other than the one the checkpoint was written with, or an unreadable file.
                The message names the file.
        """
        net_path, state_path = self.checkpoint_paths(generation)
        manifest = Manifest.read(self.manifest_path)
        if manifest is None:
            raise SerializationError(f"{self.manifest_path} is missing: no checkpoint to load")
        manifest.verify(self.path, generation, self.config_path)
        try:
            raw = state_path.read_bytes()
        except OSError as exc:
            raise SerializationError(f"cannot read checkpoint {state_path}: {exc}") from exc
        if digest([raw]) != manifest.entries[generation][state_path.name]:
            raise SerializationError(f"checkpoint file {state_path} changed while being read")
        state = self._read_json(state_path, raw)
        return Network.load(net_path), state

    def latest_checkpoint(self) -> tuple[int, Network, dict[str, Any]] | None:
        """``(generation, network, state)`` of the newest complete checkpoint, or ``None``.

        ``None`` when the folder has no manifest (no checkpoint was completed); otherwise see
        :meth:`load_checkpoint` for the checks and errors.
        """
        gens = self.generations()
        if not gens:
            return None
        net, state = self.load_checkpoint(gens[-1])
        return gens[-1], net, state
