"""One naming scheme for degrees in every table, and read-side aliases for older tables.

A degree is counted either in the stage's *generated* graph (``*_graph``: input and output
nodes left out) or in the stage *DAG* with its input and output nodes (``*_dag``: an input-fed
node has one more in-edge, an output-fed node one more out-edge). Damage rows, attack tables
and node metrics use these names; tables written before this scheme are read with
:func:`rename_legacy_columns`, so older run directories still load.

>>> rename_legacy_columns(pd.DataFrame({"out_degree_io": [2], "node": [0]})).columns.tolist()
['out_degree_dag', 'node']
>>> canonical_metric("degree")
'degree_graph'
"""

from __future__ import annotations

import pandas as pd

# old column name -> new; exactly the names older wiring-lab tables wrote
LEGACY_COLUMNS: dict[str, str] = {
    "in_degree": "in_degree_graph",  # damage rows, node metrics: in the generated DAG, no input edge
    "out_degree": "out_degree_graph",
    "degree": "degree_graph",  # node metrics: undirected degree in the generated graph
    "in_degree_io": "in_degree_dag",  # damage rows: with the input/output nodes' edges
    "out_degree_io": "out_degree_dag",
    "target_in_degree": "target_in_degree_dag",  # edge rows: the target's in-degree in the DAG
    # correlate's joined edge rows: endpoint node metrics, prefixed
    "source_in_degree": "source_in_degree_graph",
    "source_out_degree": "source_out_degree_graph",
    "source_degree": "source_degree_graph",
    "target_out_degree": "target_out_degree_graph",
    "target_degree": "target_degree_graph",
}


def canonical_metric(name: str) -> str:
    """The current name of a (possibly old) metric or column name."""
    return LEGACY_COLUMNS.get(name, name)


def rename_legacy_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with old degree column names renamed to the current ones (a column whose new name is
    already present is left as it is); a table without old names is returned unchanged."""
    renames = {old: new for old, new in LEGACY_COLUMNS.items() if old in df.columns and new not in df.columns}
    return df.rename(columns=renames) if renames else df
