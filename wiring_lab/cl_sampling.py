"""Graphs chosen to cover the clustering / path-length (C-L) plane (You et al. 2020, section 4).

"Graph Structure of Neural Networks" draws millions of candidate graphs, bins them on the plane
of average clustering C and average path length L, and keeps a few graphs per bin, so that the
trained networks span the plane evenly instead of crowding where the generator puts most of its
mass. Here: a population (any registered generator with a batched form, usually ``ws-flex`` over
a grid of K and P) is measured chunk by chunk (only C, L and the component count), a
``bins x bins`` grid spans the range of C and L of the connected graphs, and each non-empty
cell keeps ``per_bin`` graphs drawn at random (all of them where it holds fewer). Disconnected
graphs are left out: their L (over connected pairs only) is not comparable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from tqdm import tqdm

from wiring_lab import metrics as M
from wiring_lab import populations as P
from wiring_lab._io import library_versions, write_json, write_table
from wiring_lab._plotting import axes_grid, styled
from wiring_lab.graphs import generator_params, save_graph, setting_label

CL_COLUMNS = ("avg_clustering", "avg_path_length", "n_components")


@dataclass(frozen=True)
class CLSampleConfig:
    """A C-L sampling run: the population (generator, grid, N, samples, seed) and the bin grid."""

    generator: str = "ws-flex"  # registered generator with a batched form
    grid: dict[str, list] = field(default_factory=dict)  # parameter -> values; each setting is a population
    nodes: int = 32  # N
    samples: int = 10_000  # graphs per setting
    seed: int = 0  # population seed (and the seed of the choice within a bin)
    bins: int = 10  # cells per axis
    per_bin: int = 1  # graphs kept per cell
    device: str = "auto"  # tensor-backend device for the metrics

    def __post_init__(self) -> None:
        for name in ("nodes", "samples", "bins", "per_bin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer (got {v!r})")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative (got {self.seed})")
        for key, values in self.grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"parameter {key!r} needs at least one value (e.g. --{key} 2,4,6)")
        for setting in self.settings():
            generator_params(self.generator, **setting)

    def settings(self) -> list[dict[str, Any]]:
        """The parameter settings: the product of the grid's value lists."""
        keys = sorted(self.grid)
        return [dict(zip(keys, values)) for values in product(*(self.grid[k] for k in keys))]

    def populations(self) -> list[P.Population]:
        """One population per setting."""
        out = []
        for setting in self.settings():
            try:
                out.append(P.Population(self.generator, setting, self.nodes, self.samples, self.seed))
            except ValueError as e:
                raise ValueError(f"{setting_label(self.generator, setting)}: {e}") from None
        return out


def population_cl(config: CLSampleConfig, progress: bool = False) -> pd.DataFrame:
    """C, L and the component count of every graph: columns ``setting, <params>, sample`` + CL_COLUMNS."""
    pops = config.populations()
    frames = []
    with tqdm(total=config.samples * len(pops), unit="graph", unit_scale=True, disable=not progress, mininterval=0.5) as bar:
        for i, pop in enumerate(pops):
            for first, adj in pop.chunks():
                values, _ = M.adjacency_metrics(adj, list(CL_COLUMNS), (), device=config.device)
                frames.append(
                    pd.DataFrame(
                        {"setting_index": np.int32(i), "sample": np.arange(first, first + adj.shape[0], dtype=np.int64)}
                        | {k: values[k].astype(np.float32 if k != "n_components" else np.int32) for k in CL_COLUMNS}
                    )
                )
                bar.update(adj.shape[0])
    df = pd.concat(frames, ignore_index=True)
    labels = [setting_label(p.generator, p.params) for p in pops]
    if len(set(labels)) < len(labels):
        raise ValueError(f"two settings share the label {next(x for x in labels if labels.count(x) > 1)}; list each value once")
    df.insert(0, "setting", pd.Categorical.from_codes(df.pop("setting_index"), categories=labels))
    return df


def cl_edges(population: pd.DataFrame, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges on C and on L spanning the connected graphs of ``population``."""
    ok = population["n_components"] == 1
    c = population.loc[ok, "avg_clustering"].to_numpy(np.float64)
    ell = population.loc[ok, "avg_path_length"].to_numpy(np.float64)
    if c.size == 0:
        raise ValueError("no connected graph in the population; choose a larger K")

    def edges(x: np.ndarray) -> np.ndarray:
        lo, hi = float(x.min()), float(x.max())
        if hi <= lo:  # a single value: one cell around it
            lo, hi = lo - 0.5e-3, hi + 0.5e-3
        return np.linspace(lo, hi, bins + 1)

    return edges(c), edges(ell)


def select_cl(population: pd.DataFrame, bins: int, per_bin: int, seed: int = 0) -> pd.DataFrame:
    """Rows of ``population`` that cover the C-L grid: up to ``per_bin`` random connected graphs per cell.

    Adds ``bin_c``, ``bin_l`` (cell indices, 0-based) and ``cell_count`` (connected graphs in the cell).
    """
    c_edges, l_edges = cl_edges(population, bins)
    ok = (population["n_components"] == 1).to_numpy()
    rows = np.flatnonzero(ok)
    bc = np.clip(np.searchsorted(c_edges, population["avg_clustering"].to_numpy(np.float64)[rows], side="right") - 1, 0, bins - 1)
    bl = np.clip(np.searchsorted(l_edges, population["avg_path_length"].to_numpy(np.float64)[rows], side="right") - 1, 0, bins - 1)
    cell = bc * bins + bl
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    order = rng.permutation(rows.size)  # a random order, then the first per_bin of every cell
    cell_sorted = cell[order]
    stable = np.argsort(cell_sorted, kind="stable")
    chosen_pos = order[stable]
    cells = cell_sorted[stable]
    starts = np.r_[0, np.flatnonzero(np.diff(cells)) + 1]
    counts = np.diff(np.r_[starts, cells.size])
    rank = np.arange(cells.size) - np.repeat(starts, counts)
    keep = chosen_pos[rank < per_bin]
    kept = population.iloc[rows[keep]].copy()
    kept.insert(len(kept.columns), "bin_c", bc[keep])
    kept.insert(len(kept.columns), "bin_l", bl[keep])
    kept.insert(len(kept.columns), "cell_count", np.repeat(counts, counts)[rank < per_bin])
    kept = kept.sort_values(["bin_c", "bin_l", "sample"]).reset_index(drop=True)
    kept.attrs["cl_edges"] = (c_edges, l_edges)  # the grid, for plot_cl_plane
    return kept


@dataclass
class CLSample:
    """A C-L sampling result: the population's C-L table, the kept graphs and their metrics."""

    population: pd.DataFrame  # one row per graph: setting, sample, C, L, components
    kept: pd.DataFrame  # one row per kept graph: all graph metrics, its cell, its file
    graphs: list  # the kept GraphSpecs (seed = population seed, member = sample)
    edges: tuple[np.ndarray, np.ndarray]  # bin edges on C and L


def sample_cl(config: CLSampleConfig, progress: bool = False) -> CLSample:
    """Measure the population, keep the graphs that cover the C-L grid, regenerate them and measure them fully."""
    pops = config.populations()
    population = population_cl(config, progress=progress)
    kept = select_cl(population, config.bins, config.per_bin, config.seed)
    labels = {setting_label(p.generator, p.params): p for p in pops}
    specs = []
    for label, group in kept.groupby("setting", sort=False, observed=True):
        members = labels[label].members(group["sample"].tolist())
        specs.extend(zip(group.index, members))
    specs = [s for _, s in sorted(specs, key=lambda t: t[0])]
    full = M.graph_metrics(specs, device=config.device) if specs else pd.DataFrame()
    full.insert(7, "sample", [s.member for s in specs])
    full["bin_c"], full["bin_l"], full["cell_count"] = kept["bin_c"].to_numpy(), kept["bin_l"].to_numpy(), kept["cell_count"].to_numpy()
    full["file"] = [f"graphs/cl_{i:04d}.json" for i in range(len(specs))]
    return CLSample(population, full, specs, cl_edges(population, config.bins))


def write_cl_sample(result: CLSample, config: CLSampleConfig, out: str | Path) -> list[Path]:
    """Write ``graphs/cl_NNNN.json``, ``kept.csv`` (+ sidecar), ``population.parquet`` and ``cl_plane.png``."""
    out = Path(out)
    (out / "graphs").mkdir(parents=True, exist_ok=True)
    for spec, rel in zip(result.graphs, result.kept["file"]):
        save_graph(spec, out / rel)
    paths = [write_table(result.kept, out / "kept.csv"), write_table(result.population, out / "population.parquet")]
    write_json(out / "kept.csv.json", {"config": asdict(config), "versions": library_versions(), "c_edges": result.edges[0].tolist(), "l_edges": result.edges[1].tolist()})
    fig = plot_cl_plane(result.population, result.kept, result.edges)
    fig.savefig(out / "cl_plane.png", dpi=130, bbox_inches="tight")  # a pyplot-free figure: nothing to close
    return paths + [out / "cl_plane.png", out / "graphs"]


@styled
def plot_cl_plane(population: pd.DataFrame, kept: pd.DataFrame, edges: tuple[np.ndarray, np.ndarray] | None = None, *, ax: Any = None):
    """Population density (log-scaled 2-D histogram of the connected graphs) and the kept graphs on the C-L plane.

    ``edges``: the bin grid (default: the one :func:`select_cl` stored with ``kept``); ``ax``: draw
    there (its figure is returned) instead of on a new pyplot-free figure.
    """
    ok = population["n_components"] == 1
    c = population.loc[ok, "avg_clustering"].to_numpy(np.float64)
    ell = population.loc[ok, "avg_path_length"].to_numpy(np.float64)
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(6.4, 4.8), what="C-L plane")
    if edges is None:
        edges = kept.attrs.get("cl_edges") or cl_edges(population, 10)
    fine = (np.linspace(edges[0][0], edges[0][-1], 121), np.linspace(edges[1][0], edges[1][-1], 121))
    _, _, _, im = ax.hist2d(c, ell, bins=fine, norm=LogNorm(), cmap="Greys")
    fig.colorbar(im, ax=ax, label="graphs per pixel (population)")
    for x in edges[0]:
        ax.axvline(x, color="tab:blue", lw=0.4, alpha=0.5)
    for y in edges[1]:
        ax.axhline(y, color="tab:blue", lw=0.4, alpha=0.5)
    ax.scatter(kept["avg_clustering"], kept["avg_path_length"], s=14, c="tab:red", edgecolors="white", linewidths=0.4, label=f"kept (n = {len(kept)})", zorder=3)
    n_cells = len(kept.groupby(["bin_c", "bin_l"])) if len(kept) else 0
    ax.set_xlabel("average clustering C")
    ax.set_ylabel("average path length L")
    ax.set_title(f"C-L plane: {ok.sum():,} connected graphs, {n_cells} of {(len(edges[0]) - 1) * (len(edges[1]) - 1)} cells covered", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return fig
