"""wiring-lab: study trained randomly wired neural networks (RandWire, Xie et al. 2019)."""

__version__ = "0.1.0"
