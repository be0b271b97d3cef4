"""cxlquant: quantization hardware for LLM inference, with its golden model, benches and flow.

The command-line tool is :mod:`cxlquant.cli` (``cxlquant --help``); the golden model, the
components, the benches and the flow are the packages ``golden``, ``hdl``, ``verif``, ``sim``
and ``fpga``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cxlquant")
except PackageNotFoundError:          # run from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
