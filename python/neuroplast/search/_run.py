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

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), and
a checkpoint's JSON is written after its network, so :meth:`RunFolder.latest_checkpoint` only
ever sees complete checkpoints.

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
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast.errors import ConfigError, SerializationError
from neuroplast.morph.record import EditLog
from neuroplast.network import Network

__all__ = ["RunFolder", "atomic_write_text", "rng_from_state", "rng_state"]

_CKPT = re.compile(r"^gen_(\d{4,})\.json$")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


class RunFolder:
    """A controller's output folder (see the module docstring for the layout).

    Args:
        path: The folder; created with its subfolders when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.report = self.path / "report"
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run folder {self.path}: {exc}") from exc

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
        target = Path(path)
        if target.exists() and not target.is_dir():
            raise ConfigError(f"run_dir {target} exists and is not a folder")
        used = target.is_dir() and any(target.iterdir())
        if used and overwrite:
            shutil.rmtree(target)
        elif used and not resume:
            raise ConfigError(
                f"run folder {target} already holds a run; pass overwrite=True (--overwrite) "
                "to replace it or resume=True (--resume) to continue it"
            )
        return cls(target)

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
            theirs = json.loads(self.config_path.read_text(encoding="utf-8"))
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

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_paths(self, generation: int) -> tuple[Path, Path]:
        """``(network file, state file)`` of a generation's checkpoint."""
        stem = self.checkpoints / f"gen_{generation:04d}"
        return stem.with_suffix(".npl"), stem.with_suffix(".json")

    def save_checkpoint(self, generation: int, net: Network, state: Mapping[str, Any]) -> None:
        """Saves a generation's network, then its state (the state file marks completeness)."""
        net_path, state_path = self.checkpoint_paths(generation)
        net.save(net_path)
        atomic_write_text(state_path, json.dumps(dict(state), sort_keys=True))

    def generations(self) -> list[int]:
        """Generations with a complete checkpoint, ascending."""
        found = []
        for p in self.checkpoints.iterdir():
            m = _CKPT.match(p.name)
            if m and self.checkpoint_paths(int(m.group(1)))[0].exists():
                found.append(int(m.group(1)))
        return sorted(found)

    def load_checkpoint(self, generation: int) -> tuple[Network, dict[str, Any]]:
        """The network and state saved for ``generation``."""
        net_path, state_path = self.checkpoint_paths(generation)
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SerializationError(f"cannot read checkpoint {state_path}: {exc}") from exc
        return Network.load(net_path), dict(state)

    def latest_checkpoint(self) -> tuple[int, Network, dict[str, Any]] | None:
        """``(generation, network, state)`` of the newest complete checkpoint, or ``None``."""
        gens = self.generations()
        if not gens:
            return None
        net, state = self.load_checkpoint(gens[-1])
        return gens[-1], net, state
