"""The one public ``load_checkpoint``: native files through :mod:`wiring_lab.checkpoint`, the
layouts of other implementations through :mod:`wiring_lab.importers`.

It sits above both so that neither imports the other's loader (``checkpoint`` is the native
format only; ``importers`` maps foreign files onto it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from wiring_lab.checkpoint import Checkpoint, load_native
from wiring_lab.graphs import GraphSpec
from wiring_lab.importers import detect_format, load_foreign


def load_checkpoint(
    path: str | Path,
    device: str | torch.device = "cpu",
    graphs: str | Path | Sequence[GraphSpec] | Sequence[str | Path] | None = None,
    format: str = "native",
) -> Checkpoint:
    """Load a checkpoint: the model in eval mode on ``device``, its stage graphs and metadata.

    ``format`` is ``native`` (wiring-lab's own files), ``auto`` (detected from the file's keys,
    read safely) or a foreign layout's name (:func:`wiring_lab.importers.list_formats`).
    ``graphs`` replaces or supplies the stage graphs (a file, a directory or ``GraphSpec``
    objects); for a foreign layout, that implementation's graph files.
    """
    if format == "auto":
        format = detect_format(path)
    if format == "native":
        return load_native(path, device=device, graphs=graphs)
    return load_foreign(path, format, graphs, device)  # type: ignore[arg-type]
