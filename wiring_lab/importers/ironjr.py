"""ironjr/pytorch-randwire: ``checkpoint/<label>/ckpt_*.pth`` (``train.save``) with ``model``
(the DataParallel module's state dict), ``optim``, ``loss``, ``epoch``, ``iteration`` and the stage
graphs **pickled** as networkx ``DiGraph`` objects (numpy-integer node labels) under ``graphs``.

Loading those graphs would mean unpickling, i.e. running code named by the file, so this format
is refused. When the pickle names nothing beyond networkx graphs, numpy scalars, torch tensors
and plain containers, the message points to :mod:`wiring_lab.importers.export_pickled` (run by
the user, on a file they trust) for graph files; otherwise it names the unexpected global and
suggests no unpickling at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from wiring_lab._io import UserError
from wiring_lab.importers import ForeignFormat, _detect_obj, register_format
from wiring_lab.importers._common import (
    EXPORT_HINT,
    ForeignNetwork,
    pickle_globals,
    refusal_for_globals,
    unexpected_globals,
)


def _detect(obj: Any) -> bool:
    """Never matched on a safely loaded object: such files cannot be loaded safely at all."""
    return False


def _detect_globals(names: set[str]) -> bool:
    """A checkpoint that pickles networkx graphs."""
    return any(n.startswith("networkx.") for n in names)


def _describe(obj: Any) -> str:
    """A few words on what a safely loaded object holds."""
    if isinstance(obj, dict):
        tensors = sum(isinstance(v, torch.Tensor) for v in obj.values())
        if obj and tensors == len(obj):
            return f"a plain state dict of {tensors} tensors"
        keys = ", ".join(repr(k) for k in list(obj)[:6]) + (", ..." if len(obj) > 6 else "")
        return f"a dict with keys {keys}"
    return f"a {type(obj).__name__}"


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Refuse, saying why: pickled graphs (export them), unexpected globals (named), or not this layout at all."""
    if obj is not None:  # it loaded with weights_only=True, so it pickles no graphs
        other = _detect_obj(obj)
        hint = f"; it looks like the {other} layout: use --layout {other}" if other else ""
        raise UserError(f"{path}: not an ironjr/pytorch-randwire checkpoint: it holds no pickled networkx graphs, only {_describe(obj)}{hint}")
    names = pickle_globals(path)
    if _detect_globals(names) and not unexpected_globals(names):
        raise UserError(
            f"{path}: refused: ironjr/pytorch-randwire checkpoints keep their stage graphs as pickled networkx objects, "
            f"which cannot be read without running code from the file; {EXPORT_HINT}"
        )
    refusal = refusal_for_globals(path, names)
    if refusal is not None:
        raise refusal
    shown = ", ".join(sorted(names)[:4]) or "nothing readable"
    raise UserError(f"{path}: not an ironjr/pytorch-randwire checkpoint: its pickle names no networkx graph (it names {shown})")


register_format(
    ForeignFormat(
        "ironjr",
        "ironjr/pytorch-randwire: refused (graphs pickled inside the checkpoint); export them as shown in the message",
        _detect,
        load,
        _detect_globals,
    )
)
