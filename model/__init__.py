"""The system-dynamics model: units, scenario schema, equations, integrator and ensembles.

``__version__`` is read from the installed package's metadata on first use.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("projection")
        except PackageNotFoundError:  # a source tree that was not installed
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
