"""Figure style (set once) and saving. Plot functions take tidy tables and return Figures."""

from __future__ import annotations

from pathlib import Path

_STYLE_SET = False
FORMATS = ("png", "pdf", "svg")


def set_style() -> None:
    """Paper style: seaborn ticks, colour-blind palette, 9-pt text, Agg when headless."""
    global _STYLE_SET
    if _STYLE_SET:
        return
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _has_display():
        matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", palette="colorblind", font_scale=1.1)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "axes.titlesize": 10})
    _STYLE_SET = True


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` (format from the extension: png, pdf, svg) atomically and close it."""
    import matplotlib.pyplot as plt

    from wiring_lab._io import UserError, atomic_path

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"{path}: figure files must end in .png, .pdf or .svg")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    plt.close(fig)
    return path
