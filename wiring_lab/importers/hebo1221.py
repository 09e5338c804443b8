"""hebo1221/RandWireNN: raw state dicts (``output/model/*.cpt``) plus ``output/graph/conv{2..5}.yaml``.

A close copy of JiaminRen's code (:mod:`wiring_lab.importers.jiaminren`) with other key names
(``conv1.0.depthwise_separable_conv_3x3``, ``conv1.0.pointwise_conv_1x1``, ``conv1.1``;
``classifier.<i>`` for the head conv and BN) and these differences, all modelled:
- small regime ``conv2`` has stride 1 (JiaminRen's has 2);
- the released ``Node_OP.forward`` (a ``for ... else`` that always runs) passes only the node's
  **first** (lowest-id) input through its ReLU-conv-BN: ``mean_weight`` is stored but unused, so
  the imported network uses ``aggregation="first"``;
- the regular head has dropout around the 1x1 conv (identity at evaluation; not modelled).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from wiring_lab.importers import ForeignFormat, register_format
from wiring_lab.importers._common import ForeignNetwork, state_dict_of
from wiring_lab.importers.jiaminren import Layout, is_family_state, load_family

# input size: cfg.NN.IMG_SIZE (the head pools size//16 or size//32), not kept in the checkpoint
HEBO = Layout("hebo1221", "depthwise_separable_conv_3x3", "pointwise_conv_1x1", "conv1.0", "conv1.1", 1, "first", None)


def _detect(obj: Any) -> bool:
    """A hebo1221 state dict (its separable-conv key names)."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    return is_family_state(state, HEBO)


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Load a hebo1221 checkpoint; graphs default to ``../graph/conv<s>.yaml`` or the checkpoint's directory."""
    state = state_dict_of(path, obj, ("state_dict", "model"))
    head = ("classifier.2", "classifier.3") if "classifier.2.running_mean" not in state else ("classifier.1", "classifier.2")
    return load_family(path, obj, graphs, HEBO, head, [path.parent.parent / "graph", path.parent])


register_format(
    ForeignFormat(
        "hebo1221",
        "hebo1221/RandWireNN: raw state dict (*.cpt) + output/graph/conv<s>.yaml (nx.write_yaml)",
        _detect,
        load,
    )
)
