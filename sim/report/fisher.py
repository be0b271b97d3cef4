"""A user's Fisher file for the report: checked against the model's layers, never silently ignored.

``python -m sim.report --fisher F.npz`` replaces the FGMP weight-sensitivity proxy by real
Fisher tensors. The file is an ``.npz`` with one array per linear layer, keyed by the
report's layer name (``layer0.query``) or by the checkpoint's weight name
(``encoder.layer.0.attention.self.query.weight``), each broadcastable to the layer's
weight ``[out, in]``, finite and non-negative. A key that names no layer is an error that
lists the names expected; a file may cover only some layers, and the report says per
layer which sensitivity each used.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

__all__ = ["FisherFile", "load_fisher"]


class FisherFile:
    """Fisher tensors by layer name, and which layers they cover.

    Attributes
    ----------
    path : Path
    tensors : dict of str to ndarray
        Float64, broadcast to each covered layer's weight shape.
    coverage : dict of str to bool
        Every layer of the model, in order: True where the file gives its Fisher tensor.
    """

    def __init__(self, path: Path, tensors: dict[str, np.ndarray], coverage: dict[str, bool]):
        self.path, self.tensors, self.coverage = path, tensors, coverage

    @property
    def covered(self) -> list[str]:
        return [name for name, yes in self.coverage.items() if yes]

    @property
    def uncovered(self) -> list[str]:
        return [name for name, yes in self.coverage.items() if not yes]


def _expected_names(layers, checkpoint_names) -> str:
    names = list(layers)
    example = next(iter(checkpoint_names), None)
    return (f"expected layer names ({len(names)}): {', '.join(names)}"
            + (f"; checkpoint names such as {example!r} are accepted too" if example else ""))


def load_fisher(path, layers: dict, checkpoint_names: dict[str, str] | None = None) -> FisherFile:
    """Read and check a Fisher file against ``layers`` (``{name: (weight, bias)}``).

    Parameters
    ----------
    path : path-like
        An ``.npz`` file.
    layers : dict
        The model's linear layers (``MiniLM.linear_layers()``).
    checkpoint_names : dict of str to str, optional
        Other accepted keys: ``{checkpoint weight name: layer name}``.

    Raises
    ------
    ValueError
        The file does not exist or is not an ``.npz``; it holds no arrays; a key names no
        layer (the message lists the expected names); two keys name one layer; an array
        does not broadcast to its layer's weight, or holds NaN, ±inf or negative values.
    """
    path = Path(path)
    checkpoint_names = checkpoint_names or {}
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"Fisher file {str(path)!r} cannot be read as an .npz ({error})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"Fisher file {str(path)!r} is a single array, not an .npz of arrays by layer")
    with loaded as npz:
        arrays = {key: npz[key] for key in npz.files}
    if not arrays:
        raise ValueError(f"Fisher file {str(path)!r} holds no arrays; {_expected_names(layers, checkpoint_names)}")
    unknown = [key for key in arrays if key not in layers and key not in checkpoint_names]
    if unknown:
        raise ValueError(f"Fisher file {str(path)!r}: {len(unknown)} key(s) name no layer of the model "
                         f"({', '.join(map(repr, unknown[:6]))}{', ...' if len(unknown) > 6 else ''}); "
                         f"{_expected_names(layers, checkpoint_names)}")
    tensors, source = {}, {}
    for key, value in arrays.items():
        name = checkpoint_names.get(key, key)
        if name in tensors:
            raise ValueError(f"Fisher file {str(path)!r}: keys {source[name]!r} and {key!r} both name layer {name!r}")
        weight = layers[name][0]
        if value.dtype.kind not in "biuf":
            raise ValueError(f"Fisher tensor {key!r} must be real numbers, got dtype {value.dtype}")
        try:
            f = np.broadcast_to(value.astype(np.float64), weight.shape)
        except ValueError:
            raise ValueError(f"Fisher tensor {key!r} has shape {value.shape}, which does not broadcast to "
                             f"the weight of {name!r}, {weight.shape} [out, in]") from None
        if not np.isfinite(f).all() or (f < 0).any():
            raise ValueError(f"Fisher tensor {key!r} must be finite and non-negative")
        tensors[name], source[name] = f, key
    return FisherFile(path, tensors, {name: name in tensors for name in layers})
