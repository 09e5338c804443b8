"""Shared fixtures: a tiny trained digits network (trained once per test session), devices, a headless browser."""

from __future__ import annotations

import os
import shutil

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

# Tests run on the CPU unless WIRING_LAB_TEST_DEVICE says otherwise (e.g. cuda).
TEST_DEVICE = os.environ.get("WIRING_LAB_TEST_DEVICE", "cpu")
# Tiny networks train fastest on one thread, and results then do not depend on the core count.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Skip GPU tests cleanly where there is no CUDA device."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def digits():
    """The embedded digits data set."""
    from wiring_lab.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def tiny_ckpt_path(tmp_path_factory, digits):
    """A tiny WS network trained 4 epochs on digits (C=8, N=8): a few seconds on a CPU."""
    from wiring_lab.train import TrainConfig, model_config_for, train_network

    path = tmp_path_factory.mktemp("ckpt") / "tiny_ws.pt"
    mc = model_config_for(digits, channels=8, nodes=8, head_channels=64, generator="ws", seed=1)
    train_network(mc, TrainConfig(epochs=4, seed=1), path, device="cpu", data=digits, progress=False)
    return path


@pytest.fixture()
def tiny_ckpt(tiny_ckpt_path):
    """The tiny trained network, loaded fresh for each test (safe to modify)."""
    from wiring_lab.loading import load_checkpoint

    return load_checkpoint(tiny_ckpt_path)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """The tiny demo, run once per session: (run directory, run_demo's result, the lines it echoed)."""
    from wiring_lab.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    result = run_demo(out, "tiny", device="cpu", echo=lines.append)
    return out, result, lines


def _browser() -> tuple[str, str]:
    """Paths of Chromium and its driver, or skip saying what is missing."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or next((p for p in ("/usr/lib/chromium/chromedriver",) if os.path.exists(p)), None)
    if browser is None or driver is None:
        missing = [name for name, path in (("chromium", browser), ("chromium-driver", driver)) if path is None]
        pytest.skip(f"no headless browser: {' and '.join(missing)} not installed (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture()
def chromium(tmp_path):
    """A headless Chromium session with a fresh profile, its console log kept."""
    browser, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--disable-extensions", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def pytest_terminal_summary(terminalreporter):
    """The number of fuzz cases run (tests/test_fuzz.py), for the notes: a count, not a test."""
    fuzz = __import__("sys").modules.get("test_fuzz") or __import__("sys").modules.get("tests.test_fuzz")
    tried = getattr(fuzz, "TRIED", None)
    if tried and tried["cases"]:
        terminalreporter.write_line(
            f"fuzz: {tried['cases']} cases, {tried['accepted']} accepted as valid, {tried['refused']} refused with one line"
        )
