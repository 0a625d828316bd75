"""Build hook: put the tether component inside the package before it is built.

``pip wheel bindings/python`` copies
``target/wasm/wasm32-wasip2/release/tether_component.wasm`` (made by
``cargo build -p tether-host``), or ``$TETHER_WASM``, to ``tether/tether.wasm``, so
the wheel carries the component and installs without Rust. Everything else is in
pyproject.toml.
"""

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILT = HERE.parent.parent / "target" / "wasm" / "wasm32-wasip2" / "release" / "tether_component.wasm"
PACKAGED = HERE / "tether" / "tether.wasm"


def copy_component() -> None:
    source = Path(os.environ.get("TETHER_WASM") or BUILT)
    if source.is_file():
        data = source.read_bytes()
        if not PACKAGED.is_file() or PACKAGED.read_bytes() != data:
            tmp = PACKAGED.with_suffix(".wasm.tmp")
            tmp.write_bytes(data)
            tmp.replace(PACKAGED)
    elif not PACKAGED.is_file():
        raise SystemExit(
            f"the tether component is missing: neither {source} nor {PACKAGED} exists; "
            "run `cargo build -p tether-host` first (or set TETHER_WASM)")


class BuildPy(build_py):
    def run(self) -> None:
        copy_component()
        super().run()


setup(cmdclass={"build_py": BuildPy})
