"""DRAM timing and energy: a banked DDR model for SmartQuant's plane bursts.

The controller reads and writes 64-byte bursts (one plane of one group, ``golden.bitplane``).
This module says how long a sequence of bursts takes on a DDR part and what it costs in
energy, so the bench can answer the controller with realistic timing and the report can give
DRAM time and energy per token at each precision (``docs/smartquant.md`` section 7).

Model (open page, requests served in the order they arrive):

- Address map: burst address ``a`` is column burst ``a mod R`` of row ``a div (R B)`` in bank
  ``(a div R) mod B`` (``R`` bursts per row, ``B`` banks), so consecutive bursts share a row and
  a group's planes (consecutive bursts) are row hits after the first.
- A request to the bank's open row is a *row hit*: its column command issues at once. Otherwise
  the bank precharges (no earlier than ``tRAS`` after its activate, ``tRTP`` after a read's and
  ``CWL + BL/2 + tWR`` after a write's column command), activates ``tRP`` later and issues the
  column command ``tRCD`` after that (a *row miss*; an *empty* bank skips the precharge).
  Precharge and activate may issue as soon as the request arrives (the next row opens while the
  current one streams); column commands keep the arrival order, at least ``tCCD`` apart (the
  data bus: one burst per ``BL/2`` clocks). Read data is complete ``CL + BL/2`` clocks after its
  column command.
- Refresh: every ``tREFI`` the rank precharges all banks and is busy for ``tRP + tRFC``.
- Energy (DRAMsim3's and DRAMPower's IDD formulas, per rank of ``bus_width / device_width``
  devices): an activate ``VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP)``, a read burst
  ``VDD (IDD4R - IDD3N) BL/2``, a write burst ``VDD (IDD4W - IDD3N) BL/2``, a refresh
  ``VDD (IDD5AB - IDD3N) tRFC``, and background ``VDD IDD3N`` while a row is open (``IDD2N``
  while all banks are precharged), times in DRAM clocks of ``tCK``.

Simplifications, stated so results are read for what they are: one rank and channel, no
bank-group distinction (``tCCD_S`` for all), no ``tFAW`` / ``tRRD`` (at most one activate per
16 bursts in a sequential stream), no read-write turnaround (a posted write occupies the bus
like a read), background energy counted as open-row standby whenever a row is open, no
power-down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["DramDevice", "DDR4_3200", "DramCounters", "BankedDram", "stream_cost"]


@dataclass(frozen=True)
class DramDevice:
    """A DDR part and the rank built from it. Timings in DRAM clocks, currents in mA.

    Raises
    ------
    ValueError
        A non-positive timing, size or current (the message names it).
    """

    name: str
    tCK_ns: float
    CL: int
    CWL: int
    tRCD: int
    tRP: int
    tRAS: int
    tRTP: int
    tWR: int
    tRFC: int
    tREFI: int
    tCCD: int
    BL: int
    banks: int
    columns: int
    device_width: int
    bus_width: int
    VDD: float
    IDD0: float
    IDD2N: float
    IDD3N: float
    IDD4R: float
    IDD4W: float
    IDD5AB: float

    def __post_init__(self):
        for name in ("tCK_ns", "CL", "CWL", "tRCD", "tRP", "tRAS", "tRTP", "tWR", "tRFC", "tREFI", "tCCD", "BL", "banks", "columns",
                     "device_width", "bus_width", "VDD", "IDD0", "IDD2N", "IDD3N", "IDD4R", "IDD4W", "IDD5AB"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"DramDevice {name} must be positive, got {value!r}")
        if self.bus_width * self.BL != 512:
            raise ValueError(f"a burst must be 64 bytes: bus_width * BL = {self.bus_width * self.BL} bits")

    @property
    def devices(self) -> int:
        """Devices per rank."""
        return self.bus_width // self.device_width

    @property
    def burst_clocks(self) -> int:
        """Data-bus clocks per burst (double data rate)."""
        return self.BL // 2

    @property
    def bursts_per_row(self) -> int:
        """64-byte bursts in one row of the rank (its page)."""
        return self.columns // self.BL

    @property
    def tRC(self) -> int:
        return self.tRAS + self.tRP

    def _pj(self, milliamp_clocks: float) -> float:
        return self.VDD * milliamp_clocks * self.devices * self.tCK_ns

    @property
    def activate_pj(self) -> float:
        """Energy of one activate-precharge pair beyond background, pJ."""
        return self._pj(self.IDD0 * self.tRC - (self.IDD3N * self.tRAS + self.IDD2N * self.tRP))

    @property
    def read_pj(self) -> float:
        """Core energy of one read burst beyond background, pJ (no I/O termination)."""
        return self._pj((self.IDD4R - self.IDD3N) * self.burst_clocks)

    @property
    def write_pj(self) -> float:
        """Core energy of one write burst beyond background, pJ."""
        return self._pj((self.IDD4W - self.IDD3N) * self.burst_clocks)

    @property
    def refresh_pj(self) -> float:
        """Energy of one all-bank refresh beyond background, pJ."""
        return self._pj((self.IDD5AB - self.IDD3N) * self.tRFC)

    @property
    def active_standby_mw(self) -> float:
        """Background power with a row open, mW."""
        return self.VDD * self.IDD3N * self.devices

    @property
    def precharge_standby_mw(self) -> float:
        """Background power with every bank precharged, mW."""
        return self.VDD * self.IDD2N * self.devices

    @property
    def peak_bursts_per_ns(self) -> float:
        """Column commands at ``tCCD``: the rate between refreshes."""
        return 1.0 / (self.tCCD * self.tCK_ns)

    @property
    def refresh_availability(self) -> float:
        """Fraction of time not spent refreshing, ``1 - tRFC / tREFI`` (0.955 for DDR4-3200 8 Gb):
        a sustained stream can reach at most this fraction of any burst rate it cannot exceed."""
        return 1.0 - self.tRFC / self.tREFI


# DDR4-3200 8 Gb x8 (JEDEC DDR4-3200AA speed bin), a 64-bit rank of 8 devices. Every number is
# DRAMsim3's configs/DDR4_8Gb_x8_3200.ini (github.com/umd-memsys/DRAMsim3): tCK 0.63 ns, CL 22,
# CWL 16, tRCD 22, tRP 22, tRAS 52, tRTP 12, tWR 24, tRFC 560, tREFI 12480, tCCD_S 4 clocks, BL 8,
# 16 banks (4 groups of
# 4), 1024 columns; VDD 1.2 V, IDD0 57, IDD2N 37, IDD3N 52, IDD4R 168, IDD4W 150, IDD5AB 250 mA.
DDR4_3200 = DramDevice(
    name="DDR4-3200 8Gb x8", tCK_ns=0.63, CL=22, CWL=16, tRCD=22, tRP=22, tRAS=52, tRTP=12, tWR=24, tRFC=560,
    tREFI=12480, tCCD=4,
    BL=8, banks=16, columns=1024, device_width=8, bus_width=64,
    VDD=1.2, IDD0=57, IDD2N=37, IDD3N=52, IDD4R=168, IDD4W=150, IDD5AB=250)


@dataclass
class DramCounters:
    """Events of a :class:`BankedDram` since its creation (or the last :meth:`BankedDram.clear`)."""

    reads: int = 0
    writes: int = 0
    activates: int = 0
    row_hits: int = 0
    row_misses: int = 0          # another row was open: precharge, then activate
    row_empty: int = 0           # the bank was precharged: activate only
    refreshes: int = 0
    open_clocks: float = 0.0     # DRAM clocks with some row open
    closed_clocks: float = 0.0   # DRAM clocks with every bank precharged

    @property
    def accesses(self) -> int:
        return self.reads + self.writes

    @property
    def row_hit_rate(self) -> float:
        return self.row_hits / self.accesses if self.accesses else 0.0


@dataclass
class _Bank:
    row: int | None = None
    activated: float = -math.inf      # clock of the last activate
    precharge_ok: float = -math.inf   # earliest precharge after the last column command (tRTP, tWR)


@dataclass
class BankedDram:
    """Open-page DDR timing and energy over a stream of burst requests (module docstring).

    Times are DRAM clocks (floats; ``device.tCK_ns`` each). :meth:`access` takes a request
    arriving at a time no earlier than the previous one's and returns when it completes.
    """

    device: DramDevice = DDR4_3200
    counters: DramCounters = field(default_factory=DramCounters)

    def __post_init__(self):
        self._banks = [_Bank() for _ in range(self.device.banks)]
        self._column = -math.inf          # clock of the last column command
        self._next_refresh = float(self.device.tREFI)
        self._refresh_end = 0.0
        self._accounted = 0.0             # background energy counted up to this clock
        self._arrival = 0.0

    def clear(self):
        """Zero the counters (the banks' state and the time stay)."""
        self.counters = DramCounters()

    def locate(self, address: int) -> tuple[int, int, int]:
        """Burst address -> (bank, row, column burst)."""
        if isinstance(address, bool) or not isinstance(address, int) or address < 0:
            raise ValueError(f"burst address must be a non-negative integer, got {address!r}")
        per_row = self.device.bursts_per_row
        return (address // per_row) % self.device.banks, address // (per_row * self.device.banks), address % per_row

    def _background(self, until: float):
        if until <= self._accounted:
            return
        span = until - self._accounted
        if any(b.row is not None for b in self._banks):
            self.counters.open_clocks += span
        else:
            self.counters.closed_clocks += span
        self._accounted = until

    def _refresh_before(self, t: float) -> float:
        """Run the refreshes due by ``t``; the earliest clock a command may issue."""
        d = self.device
        while self._next_refresh <= t:
            start = max(self._next_refresh, self._column + d.burst_clocks)
            self._background(start)
            for bank in self._banks:
                bank.row = None
            self._background(start + d.tRP + d.tRFC)
            self.counters.refreshes += 1
            self._refresh_end = start + d.tRP + d.tRFC
            t = max(t, self._refresh_end)
            self._next_refresh += d.tREFI
        return t

    def access(self, arrival: float, address: int, write: bool = False) -> float:
        """Serve one burst arriving at clock ``arrival``; the clock its data is complete.

        Raises
        ------
        ValueError
            ``arrival`` earlier than the previous request's, or a bad address.
        """
        if arrival < self._arrival:
            raise ValueError(f"requests must arrive in order: {arrival} after {self._arrival}")
        self._arrival = arrival
        d, c = self.device, self.counters
        bank_index, row, _ = self.locate(address)
        bank = self._banks[bank_index]
        t = self._refresh_before(max(arrival, self._column + d.tCCD))
        # Column commands keep the arrival order; a bank's precharge and activate may issue as soon
        # as the request arrives (the controller looks ahead), so the next row opens while the
        # current one streams.
        floor = max(arrival, self._refresh_end)
        if bank.row == row:
            c.row_hits += 1
            column = t
        else:
            if bank.row is None:
                c.row_empty += 1
                act = floor
            else:
                c.row_misses += 1
                act = max(floor, bank.activated + d.tRAS, bank.precharge_ok) + d.tRP
            self._background(act)
            bank.row, bank.activated = row, act
            c.activates += 1
            column = max(t, act + d.tRCD)
        column = max(column, self._column + d.tCCD)
        self._column = column
        if write:
            c.writes += 1
            bank.precharge_ok = column + d.CWL + d.burst_clocks + d.tWR
        else:
            c.reads += 1
            bank.precharge_ok = column + d.tRTP
        done = column + d.CL + d.burst_clocks
        self._background(done)
        return done

    def energy_pj(self) -> dict:
        """Energy by component (pJ) for the counted events and background time, and the total."""
        d, c = self.device, self.counters
        parts = {"activate": c.activates * d.activate_pj, "read": c.reads * d.read_pj,
                 "write": c.writes * d.write_pj, "refresh": c.refreshes * d.refresh_pj,
                 "background": (c.open_clocks * d.active_standby_mw + c.closed_clocks * d.precharge_standby_mw)
                 * d.tCK_ns}
        parts["total"] = sum(parts.values())
        return parts


def stream_cost(bursts_per_group, n_groups: int, device: DramDevice = DDR4_3200, base: int = 0) -> dict:
    """Read ``n_groups`` groups in order, planes ``0 .. e-1`` of each, as fast as the DRAM allows.

    ``bursts_per_group`` is ``e`` (an int, or one per group: the region caps' effect). Plane ``p``
    of group ``g`` is burst ``base + 8 g + p`` (``golden.bitplane``). Returns the time (ns),
    the energy by component (pJ), the row-hit rate and the counters.
    """
    per_group = [bursts_per_group] * n_groups if isinstance(bursts_per_group, int) else list(bursts_per_group)
    if len(per_group) != n_groups or any(not 0 <= e <= 8 for e in per_group):
        raise ValueError(f"bursts_per_group must be one value in 0..8 per group ({n_groups}), got {bursts_per_group!r}")
    dram = BankedDram(device)
    done = 0.0
    for g, e in enumerate(per_group):
        for p in range(e):
            done = dram.access(0.0, base + 8 * g + p)
    return {"time_ns": done * device.tCK_ns, "energy_pj": dram.energy_pj(),
            "row_hit_rate": dram.counters.row_hit_rate, "counters": dram.counters}
