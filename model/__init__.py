"""The system-dynamics model: units, scenario schema, equations, integrator and command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("projection")
except PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0.0.0+unknown"
