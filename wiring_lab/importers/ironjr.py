"""ironjr/pytorch-randwire: ``ckpt_*.pth`` with ``model``, ``optim`` and the stage graphs **pickled**
as networkx ``DiGraph`` objects under ``graphs``.

Loading those graphs would mean unpickling, i.e. running code named by the file, so this format
is refused with a message that says how to export the graphs and weights as plain files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from wiring_lab._io import UserError
from wiring_lab.importers import ForeignFormat, register_format
from wiring_lab.importers._common import EXPORT_HINT, ForeignNetwork


def _detect(obj: Any) -> bool:
    """Never matched on a safely loaded object: such files cannot be loaded safely at all."""
    return False


def _detect_globals(names: set[str]) -> bool:
    """A checkpoint that pickles networkx graphs."""
    return any(n.startswith("networkx.") for n in names)


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Refuse: the stage graphs live as pickled objects inside the checkpoint."""
    raise UserError(
        f"{path}: refused: ironjr/pytorch-randwire checkpoints keep their stage graphs as pickled networkx objects, "
        f"which cannot be read without running code from the file; {EXPORT_HINT}"
    )


register_format(
    ForeignFormat(
        "ironjr",
        "ironjr/pytorch-randwire: refused (graphs pickled inside the checkpoint); export them as shown in the message",
        _detect,
        load,
        _detect_globals,
    )
)
