"""SmartQuant bit-plane weight store: layout, precision views, address map and DRAM traffic.

Definitions (``docs/numerics.md``, section *SmartQuant*):

- Weights are signed INT8, symmetric, one FP32 scale per quantization group.
- A *group* is 512 consecutive weights. Plane ``p`` (0 = MSB/sign, 7 = LSB) of a
  group is 512 bits = one 64-byte DRAM burst; weight ``j`` is bit ``j % 8`` of
  byte ``j // 8`` (LSB first).
- View ``k`` (1..8) returns each weight's ``k``-bit code ``q >> (8 - k)``
  (arithmetic shift), densely packed: code bit ``b`` of weight ``j`` is bit
  ``j*k + b`` of the group's ``k * 512``-bit stream, LSB first, cut into ``k``
  host lines of 64 bytes.
- A region cap ``e < k`` fetches only ``e`` planes; the ``k - e`` missing code
  bits are filled with the midpoint pattern ``10...0``.
- Decoding a ``k``-bit code ``c``: ``q' = c * 2**(8-k) + 2**(7-k)`` for ``k < 8``
  (midpoint of the truncated interval), ``q' = c`` for ``k = 8``; value ``q' * scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._blocks import as_finite_array, check_positive_int, to_blocks

__all__ = [
    "GROUP", "LINE_BYTES", "PLANES", "quantize_int8", "dequantize_int8", "to_planes", "from_planes",
    "view_codes", "read_view", "unpack_view", "dequantize_view", "ViewMap", "AddressDecode",
    "PlaneStoreModel", "PlanePool", "slot_size", "dram_bursts",
]

GROUP = 512
LINE_BYTES = 64
PLANES = 8


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= PLANES:
        raise ValueError(f"precision k must be an integer in 1..8, got {k!r}")
    return int(k)


def quantize_int8(w, *, group: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric INT8 with one FP32 scale per ``group`` consecutive weights (flattened order).

    ``scale = fp32(amax / 127)`` (1.0 for an all-zero group), ``q = clip(rne(w / scale), -127, 127)``.

    Returns
    -------
    q : ndarray of int8, shape of ``w``
    scales : ndarray of float32, shape ``(w.size // group,)``
    """
    w = as_finite_array(w, "w")
    blocks, _ = to_blocks(w.reshape(-1), group, -1)
    amax = np.abs(blocks).max(axis=-1)
    with np.errstate(over="ignore", under="ignore"):
        scales = np.where(amax > 0, (amax / 127).astype(np.float32), np.float32(1.0)).astype(np.float32)
    bad = ~np.isfinite(scales) | (scales == 0)
    if bad.any():
        group_index = int(np.argmax(bad))
        raise ValueError(f"group {group_index} has amax {float(amax[group_index])!r}, whose scale amax / 127 FP32 "
                         f"cannot hold ({np.count_nonzero(bad)} group(s) like it); rescale the weights")
    q = np.clip(np.rint(blocks / scales[:, None].astype(np.float64)), -127, 127)
    return q.astype(np.int8).reshape(w.shape), scales


def dequantize_int8(q, scales, *, group: int = 128) -> np.ndarray:
    """``q * scale`` per group, float64, shape of ``q``."""
    q = np.asarray(q)
    blocks, _ = to_blocks(q.reshape(-1).astype(np.float64), group, -1)
    return (blocks * np.asarray(scales, np.float64)[:, None]).reshape(q.shape)


def _as_int8_groups(q) -> np.ndarray:
    q = np.asarray(q)
    if q.dtype != np.int8:
        raise ValueError(f"weights must be int8 codes, got dtype {q.dtype}")
    groups, _ = to_blocks(q.reshape(-1), GROUP, -1)
    return groups


def to_planes(q, group: int = GROUP) -> np.ndarray:
    """Bit-plane layout of INT8 weights.

    Parameters
    ----------
    q : array_like of int8, size a multiple of 512 (flattened in C order)
    group : int
        Must be 512 (one 64-byte plane per group); the argument documents the layout.

    Returns
    -------
    ndarray of uint8, shape ``(n_groups, 8, 64)``: ``[g, p]`` is plane ``p``
    (0 = MSB) of group ``g``, i.e. the DRAM burst at ``(8*g + p) * 64``.
    """
    if group != GROUP:
        raise ValueError(f"group must be {GROUP} (one 64-byte burst per plane), got {group!r}")
    bits = _as_int8_groups(q).view(np.uint8)
    shifts = np.arange(PLANES - 1, -1, -1, dtype=np.uint8)               # plane p holds bit 7 - p
    planes = (bits[:, None, :] >> shifts[None, :, None]) & 1
    return np.packbits(planes, axis=-1, bitorder="little")


def from_planes(planes) -> np.ndarray:
    """Inverse of :func:`to_planes`: flat int8 weights."""
    planes = np.asarray(planes, dtype=np.uint8)
    if planes.ndim != 3 or planes.shape[1:] != (PLANES, LINE_BYTES):
        raise ValueError(f"planes must have shape (n_groups, 8, 64), got {planes.shape}")
    bits = np.unpackbits(planes, axis=-1, bitorder="little").astype(np.uint8)
    weights = np.zeros(bits.shape[::2], dtype=np.uint8)
    for p in range(PLANES):
        weights |= bits[:, p, :] << np.uint8(PLANES - 1 - p)
    return weights.view(np.int8).reshape(-1)


def _check_caps(caps, n_groups: int) -> np.ndarray:
    if caps is None:
        return np.full(n_groups, PLANES, np.int64)
    raw = np.asarray(caps)
    if raw.ndim > 1 or (raw.ndim == 1 and raw.shape[0] != n_groups):
        raise ValueError(f"caps must be one plane cap per group ({n_groups}) or a scalar, "
                         f"got shape {raw.shape}")
    if raw.dtype.kind not in "iu" and not (raw.dtype.kind == "f" and np.array_equal(raw, np.rint(raw))):
        raise ValueError(f"plane caps must be integers 1..8, got {caps!r}")
    caps = np.broadcast_to(raw, (n_groups,)).astype(np.int64)
    if (caps < 1).any() or (caps > PLANES).any():
        raise ValueError(f"plane caps must lie in 1..8, got {np.unique(caps)}")
    return caps


def view_codes(planes, k: int, caps=None) -> np.ndarray:
    """The ``k``-bit codes (two's complement, as uint8 ``0 .. 2**k - 1``) a view returns.

    ``caps`` (one per group, or a scalar) limits the planes fetched:
    ``e = min(k, cap)``; the missing low code bits are ``10...0``.
    Returns shape ``(n_groups, 512)``.
    """
    k = _check_k(k)
    planes = np.asarray(planes, dtype=np.uint8)
    q = from_planes(planes).reshape(-1, GROUP).view(np.uint8).astype(np.int64)
    e = np.minimum(k, _check_caps(caps, planes.shape[0]))[:, None]
    top = q >> (PLANES - e)                                              # e MSBs, unsigned pattern
    fill = np.where(e < k, 1 << np.maximum(k - e - 1, 0), 0)
    return ((top << (k - e)) | fill).astype(np.uint8)


def read_view(planes, k: int, caps=None) -> np.ndarray:
    """Host lines of view ``k`` exactly as the controller returns them.

    Returns
    -------
    ndarray of uint8, shape ``(n_groups * k, 64)``: line ``L`` is line ``L % k``
    of group ``L // k``; ``k / 8`` bytes per weight.
    """
    k = _check_k(k)
    codes = view_codes(planes, k, caps)
    bits = (codes[..., None] >> np.arange(k, dtype=np.uint8)) & 1        # (g, 512, k), LSB first
    stream = np.packbits(bits.reshape(codes.shape[0], GROUP * k), axis=-1, bitorder="little")
    return stream.reshape(-1, LINE_BYTES)


def unpack_view(lines, k: int) -> np.ndarray:
    """Inverse packing: the ``k``-bit codes (uint8) in host lines of view ``k``, shape ``(n_groups, 512)``."""
    k = _check_k(k)
    lines = np.asarray(lines, dtype=np.uint8)
    if lines.ndim != 2 or lines.shape[1] != LINE_BYTES or lines.shape[0] % k:
        raise ValueError(f"view-{k} lines must have shape (n_groups * {k}, 64), got {lines.shape}")
    bits = np.unpackbits(lines.reshape(-1, k * LINE_BYTES), axis=-1, bitorder="little")
    bits = bits.reshape(-1, GROUP, k).astype(np.uint8)
    return (bits << np.arange(k, dtype=np.uint8)).sum(axis=-1, dtype=np.int64).astype(np.uint8)


def dequantize_view(view, k: int, scales, *, scale_group: int = 128) -> np.ndarray:
    """Weights reconstructed from view-``k`` lines with midpoint reconstruction.

    Parameters
    ----------
    view : ndarray of uint8, shape ``(n_groups * k, 64)`` (from :func:`read_view`)
    scales : array_like of float, one per ``scale_group`` weights
    scale_group : int
        Quantization-group size the scales belong to.

    Returns
    -------
    ndarray of float64, flat, ``n_groups * 512`` weights.
    """
    k = _check_k(k)
    codes = unpack_view(view, k).astype(np.int64).reshape(-1)
    signed = np.where(codes >= 1 << (k - 1), codes - (1 << k), codes)
    q = signed * (1 << (PLANES - k)) + (1 << (PLANES - 1 - k) if k < PLANES else 0)
    scale_group = check_positive_int(scale_group, "scale_group")
    scales = np.asarray(scales, dtype=np.float64).reshape(-1)
    if scales.size * scale_group != q.size:
        raise ValueError(f"{scales.size} scales of {scale_group} weights do not cover {q.size} weights")
    return q * np.repeat(scales, scale_group)


@dataclass(frozen=True)
class AddressDecode:
    """A host address resolved by :class:`ViewMap`."""

    k: int
    group: int
    line: int


class ViewMap:
    """Logical address windows ("memory logical space bloating") over one weight region.

    View ``k`` starts at ``base(k) = (k - 1) * stride`` where ``stride`` is the
    smallest power of two holding the INT8 region (``n_groups * 512`` bytes),
    so the view number is the address bits above ``log2(stride)``. View ``k``
    spans ``n_groups * k`` lines. DRAM holds plane ``p`` of group ``g`` at
    ``dram_base + (8*g + p) * 64``.

    Parameters
    ----------
    n_groups : int
    dram_base : int
        Byte address of the region in DRAM (a multiple of 64).
    """

    def __init__(self, n_groups: int, dram_base: int = 0):
        self.n_groups = check_positive_int(n_groups, "n_groups")
        if isinstance(dram_base, bool) or not isinstance(dram_base, int) or dram_base < 0 \
                or dram_base % LINE_BYTES:
            raise ValueError(f"dram_base must be a non-negative multiple of 64, got {dram_base!r}")
        self.dram_base = dram_base
        self.stride = 1 << (self.n_groups * GROUP - 1).bit_length()

    def base(self, k: int) -> int:
        return (_check_k(k) - 1) * self.stride

    def lines(self, k: int) -> int:
        return self.n_groups * _check_k(k)

    def encode(self, k: int, group: int, line: int) -> int:
        """Host byte address of line ``line`` (0..k-1) of ``group`` in view ``k``."""
        k = _check_k(k)
        if not (0 <= group < self.n_groups and 0 <= line < k):
            raise ValueError(f"group {group} / line {line} outside view {k} "
                             f"({self.n_groups} groups of {k} lines)")
        return self.base(k) + (group * k + line) * LINE_BYTES

    def decode(self, address: int) -> AddressDecode | None:
        """Resolve a host byte address; ``None`` outside every view or not 64-byte aligned."""
        if address < 0 or address % LINE_BYTES:
            return None
        k = address // self.stride + 1
        if k > PLANES:
            return None
        index = (address - self.base(k)) // LINE_BYTES
        if index >= self.lines(k):
            return None
        return AddressDecode(k, index // k, index % k)

    def burst_address(self, group: int, plane: int) -> int:
        """DRAM byte address of ``plane`` of ``group``."""
        if not (0 <= group < self.n_groups and 0 <= plane < PLANES):
            raise ValueError(f"group {group} / plane {plane} outside the region")
        return self.dram_base + (group * PLANES + plane) * LINE_BYTES


@dataclass
class _Buffered:
    group: int
    cap: int             # region cap latched when the group was loaded
    planes: int          # planes 0 .. planes-1 are held (fetched or written)
    base: int = 0        # plane pool: first slot (a multiple of size)
    size: int = PLANES   # plane pool: slots taken (1, 2, 4 or 8)


def slot_size(planes: int) -> int:
    """Plane-pool slots an entry holding up to ``planes`` planes takes: 1, 2, 4 or 8."""
    return 1 << max(0, int(planes) - 1).bit_length()


class PlanePool:
    """The SmartQuant read buffer as a pool of plane slots (``docs/smartquant.md`` section 4).

    ``rows`` rows of 8 slots; slot ``s`` is row ``s div 8`` of plane memory ``s mod 8``. An
    entry for a group holding up to ``e`` planes takes ``slot_size(e)`` slots at a base that is
    a multiple of that size, so its planes sit in one row, plane ``p`` in plane memory
    ``base mod 8 + p``.

    - **Ring.** Entries are allocated in order. The next entry's base is the first multiple of
      its size at or after the end of the newest entry (slot 0 follows slot ``8 rows - 1``); the
      oldest entries are evicted, in allocation order, until the slots from that base to the
      oldest remaining entry's base hold the new entry. An entry is evicted only once no
      queued response still reads it (timing, not traffic: the model does not wait).
    - **Tag table.** ``T`` (the smallest power of two ``>= 8 rows``) pointers, indexed by
      ``group mod T``, each naming the entry last allocated for a group with that index. A
      lookup of ``group`` hits when that entry is still in the ring and holds ``group``.
      Allocating overwrites the pointer, so an older entry of the same index is no longer found.
    - **Growth.** A command needing more planes than the entry's size takes a new entry of the
      larger size that keeps the latched cap and fetches every plane again.
    """

    def __init__(self, rows: int):
        self.rows = check_positive_int(rows, "pool rows")
        self.slots = PLANES * self.rows
        self.table_size = 1 << (self.slots - 1).bit_length()
        self.table: dict[int, _Buffered] = {}         # group mod T -> entry
        self.entries: list[_Buffered] = []           # in the ring, oldest first
        self.head = 0                                # the slot after the newest entry
        self.allocated = self.evicted = 0

    def find(self, group: int) -> _Buffered | None:
        entry = self.table.get(group % self.table_size)
        return entry if entry is not None and entry.group == group and entry in self.entries else None

    def allocate(self, group: int, cap: int, planes: int) -> _Buffered:
        size = slot_size(planes)
        base = -(-self.head // size) * size % self.slots
        need = (base - self.head) % self.slots + size          # alignment padding + the entry
        while self.entries and self._room() < need:
            self.entries.pop(0)
            self.evicted += 1
        entry = _Buffered(group, cap, 0, base, size)
        self.entries.append(entry)
        self.table[group % self.table_size] = entry
        self.head = (base + size) % self.slots
        self.allocated += 1
        return entry

    def _room(self) -> int:
        """Free slots from the head to the oldest entry's base (0 when the ring is full)."""
        return (self.entries[0].base - self.head) % self.slots

    def entry_for(self, group: int, cap: int, planes_of) -> _Buffered:
        """The entry a command on ``group`` uses; ``planes_of(cap)`` is the planes it needs.

        ``cap`` is the group's region cap now, latched when a new entry is taken for a group
        not found.
        """
        entry = self.find(group)
        if entry is None:
            return self.allocate(group, cap, planes_of(cap))
        if planes_of(entry.cap) > entry.size:
            return self.allocate(group, entry.cap, planes_of(entry.cap))
        return entry


class PlaneStoreModel:
    """Transaction-level model of the SmartQuant controller: data, DRAM traffic, errors.

    The executable spec of ``hdl.smartquant`` (``docs/smartquant.md``). Host
    operations are applied in the order the controller accepts them.

    - **Read buffer.** With ``pool_rows``, the controller's plane pool
      (:class:`PlanePool`, ``docs/smartquant.md`` section 4): what ``hdl.smartquant``
      implements and its bench checks. Without it, ``buffers`` group buffers, least
      recently used replaced: the earlier controller's policy, kept as the simple
      reference the pool is compared with. Either way an entry holds a prefix of one
      group's planes and the region cap latched when it was taken; a read of view ``k``
      uses ``e = min(k, latched cap)`` planes and fetches from DRAM only the planes the
      entry lacks, so a group is never assembled from two cap settings while it is found.
    - **Write combining**: writes go through view 8 only. One group of lines is
      collected; it is flushed when all 8 lines are present, before a write to
      another group, before a read of that group, or on :meth:`flush`. A full
      group is written as 8 plane bursts; a partial one first reads the planes
      its buffer lacks (read-modify-write, counted as view-8 reads). A flush
      leaves the group buffered with all 8 planes.
    - Reads outside every view return ``None`` (poisoned response, no traffic);
      writes outside view 8 are refused (no traffic, data dropped).

    Parameters
    ----------
    view_map : ViewMap
    buffers : int
        Number of group buffers (at least 1), least recently used replaced; used when
        ``pool_rows`` is not given.
    pool_rows : int, optional
        Buffer the planes in a :class:`PlanePool` of this many rows of 8 slots instead: a
        group takes only the slots for the planes it needs (``docs/smartquant.md`` section 4).
    planes : ndarray of uint8, shape ``(n_groups, 8, 64)``, optional
        Initial DRAM contents (zeros when omitted).

    Attributes
    ----------
    dram : ndarray of uint8, shape ``(n_groups, 8, 64)``
        DRAM contents (plane bursts).
    reads : list of int
        DRAM bursts read, indexed by view ``k`` (index 0 unused; RMW reads count as view 8).
    writes : int
        DRAM bursts written.
    lines : list of int
        Host lines served, indexed by view ``k``.
    host_writes : int
        Host writes accepted (view 8).
    last_read : str or None
        What the last in-view :meth:`read` found in the read buffer: ``"miss"`` (no entry for
        the group: a new one taken), ``"grown"`` (the group's entry too small for the planes
        needed: a larger one taken, every plane fetched again), ``"hit, planes fetched"`` (the
        entry lacked planes, fetched into it) or ``"hit"`` (no DRAM traffic). A read forcing a
        flush of its group sees the buffer after the flush. ``None`` before any read.
    """

    def __init__(self, view_map: ViewMap, buffers: int = 1, planes=None, *, pool_rows: int | None = None):
        self.view_map = view_map
        self.n_buffers = check_positive_int(buffers, "buffers")
        self.pool = None if pool_rows is None else PlanePool(pool_rows)
        shape = (view_map.n_groups, PLANES, LINE_BYTES)
        self.dram = np.zeros(shape, np.uint8) if planes is None else np.array(planes, np.uint8)
        if self.dram.shape != shape:
            raise ValueError(f"planes must have shape {shape}, got {self.dram.shape}")
        self._buffered: list[_Buffered] = []        # most recently used first
        self._combine: dict[int, np.ndarray] = {}    # line -> 64 INT8 bytes of the combining group
        self._combine_group = self._combine_cap = -1
        self.reads, self.writes, self.lines = [0] * (PLANES + 1), 0, [0] * (PLANES + 1)
        self.host_writes = 0
        self.last_read: str | None = None

    def _buffer(self, group: int, cap: int, planes_of) -> _Buffered:
        if self.pool is not None:
            return self.pool.entry_for(group, cap, planes_of)
        for entry in self._buffered:
            if entry.group == group:
                self._buffered.remove(entry)
                break
        else:
            entry = _Buffered(group, cap, 0)
            del self._buffered[self.n_buffers - 1:]
        self._buffered.insert(0, entry)
        return entry

    def read(self, address: int, cap: int = PLANES) -> np.ndarray | None:
        """Serve a host read; ``cap`` is the region cap of the addressed group now.

        Returns the 64-byte line, or ``None`` (poison) outside every view.
        """
        where = self.view_map.decode(int(address))
        if where is None:
            return None
        if where.group == self._combine_group:
            self.flush()
        found = (self.pool.find(where.group) if self.pool is not None else
                 next((b for b in self._buffered if b.group == where.group), None)) is not None
        entry = self._buffer(where.group, _check_k(cap), lambda latched: min(where.k, latched))
        e = min(where.k, entry.cap)
        self.last_read = (("grown" if found else "miss") if entry.planes == 0 else
                          "hit, planes fetched" if entry.planes < e else "hit")
        if entry.planes < e:
            self.reads[where.k] += e - entry.planes
            entry.planes = e
        self.lines[where.k] += 1
        return read_view(self.dram[where.group:where.group + 1], where.k, caps=e)[where.line]

    def write(self, address: int, line, cap: int = PLANES) -> bool:
        """Accept a host write of a 64-byte INT8 line; ``False`` when refused (not view 8)."""
        where = self.view_map.decode(int(address))
        if where is None or where.k != PLANES:
            return False
        line = np.asarray(line, np.uint8).reshape(LINE_BYTES)
        if self._combine and where.group != self._combine_group:
            self.flush()
        if not self._combine:
            self._combine_group, self._combine_cap = where.group, _check_k(cap)
        self._combine[where.line] = line.copy()
        self.host_writes += 1
        if len(self._combine) == PLANES:
            self.flush()
        return True

    def flush(self) -> None:
        """Write the combining group to DRAM (read-modify-write when partial)."""
        if not self._combine:
            return
        group = self._combine_group
        entry = self._buffer(group, self._combine_cap, lambda latched: PLANES)
        if len(self._combine) < PLANES:
            self.reads[PLANES] += PLANES - entry.planes
        weights = from_planes(self.dram[group:group + 1]).reshape(PLANES, LINE_BYTES)
        for line, values in self._combine.items():
            weights[line] = values.view(np.int8)
        self.dram[group] = to_planes(weights.reshape(-1))[0]
        entry.planes = PLANES
        self.writes += PLANES
        self._combine, self._combine_group, self._combine_cap = {}, -1, -1

    @property
    def pending_write(self) -> bool:
        """Whether a partial group waits in the write-combining buffer."""
        return bool(self._combine)


def dram_bursts(view_map: ViewMap, addresses, caps=None, buffers: int = 1) -> int:
    """DRAM bursts read to serve host reads at ``addresses`` in order (static ``caps`` per group).

    A shorthand for :class:`PlaneStoreModel` with reads only: streaming a tensor
    at ``k`` bits reads exactly ``k/8`` of the INT8 bytes. Addresses outside every
    view cost nothing.
    """
    caps = _check_caps(caps, view_map.n_groups)
    model = PlaneStoreModel(view_map, buffers)
    for address in addresses:
        where = view_map.decode(int(address))
        model.read(address, int(caps[where.group]) if where else PLANES)
    return sum(model.reads)
