"""openbooks installs one import name: the project's top-level folders
(flows/, transforms/, expectations/) are its subpackages, so a user's own
``flows`` package, or a folder of ours on ``sys.path``, shadows nothing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _declared() -> tuple[list[str], dict[str, str]]:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools["packages"], setuptools["package-dir"]


def test_every_package_folder_is_declared():
    packages, roots = _declared()
    found = set()
    for name, folder in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            found.add(".".join([name, *relative.parts]))
    assert found == set(packages)


def test_the_wheel_holds_one_top_level_name(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("openbooks-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"openbooks"}
    assert "openbooks/flows/daily.py" in names
    assert "openbooks/expectations/node_log.json" in names
    assert "openbooks/expectations/scenario_economics.json" in names
    assert "openbooks/hardware_catalogue.yaml" in names  # the hardware catalogue ships as data
