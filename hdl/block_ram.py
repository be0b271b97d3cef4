"""A simple dual-port RAM whose read data leaves a register: two cycles from address to data.

Why: an ECP5 block RAM (DP16KD) read without its output register takes 5.83 ns from the
clock to the data (Project Trellis timing, speed grade 6), most of a 150 MHz cycle, and
Yosys does not use that register when it infers a block RAM. With ``target="ecp5"`` the
memory is built from DP16KD blocks in 512 x 36 mode with ``REGMODE = "OUTREG"``; with
``target="inferred"`` (the default, what the simulators run) it is an Amaranth
``Memory`` with a synchronous read port followed by one register: the same two cycles.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .pipeline import reg

__all__ = ["BlockRam", "BLOCK_RAM_TARGETS", "DP16KD_DEPTH", "DP16KD_WIDTH"]

BLOCK_RAM_TARGETS = ("inferred", "ecp5")
DP16KD_DEPTH = 512
"""Words of one DP16KD in its widest (36-bit) mode."""
DP16KD_WIDTH = 36


class BlockRam(wiring.Component):
    """``depth`` words of ``width`` bits; one write and one read per cycle.

    Parameters
    ----------
    width : int
    depth : int
        At most :data:`DP16KD_DEPTH` for ``target="ecp5"``.
    target : {"inferred", "ecp5"}

    Members
    -------
    w_addr, w_data, w_en : In
        Written at the clock edge ending a cycle with ``w_en`` high.
    r_addr : In
        Read address; the word appears on ``r_data`` two cycles later (a word written
        at the same time as the address is given is read old; one cycle later, new).
    r_data : Out(width)

    Raises
    ------
    ValueError
        A width or depth below 1, an unknown target, a depth above 512 for ``"ecp5"``.
    """

    def __init__(self, width: int, depth: int, target: str = "inferred"):
        for value, what in ((width, "width"), (depth, "depth")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{what} must be a positive integer, got {value!r}")
        if target not in BLOCK_RAM_TARGETS:
            raise ValueError(f"target must be one of {BLOCK_RAM_TARGETS}, got {target!r}")
        if target == "ecp5" and depth > DP16KD_DEPTH:
            raise ValueError(f"depth must be at most {DP16KD_DEPTH} for target 'ecp5', got {depth!r}")
        self.width, self.depth, self.target = width, depth, target
        addr = max(1, (depth - 1).bit_length())
        super().__init__({
            "w_addr": In(addr), "w_data": In(width), "w_en": In(1),
            "r_addr": In(addr), "r_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        if self.target == "inferred":
            m.submodules.storage = storage = Memory(shape=self.width, depth=self.depth, init=[])
            w, r = storage.write_port(), storage.read_port()
            m.d.comb += [w.addr.eq(self.w_addr), w.data.eq(self.w_data), w.en.eq(self.w_en),
                         r.addr.eq(self.r_addr)]
            m.d.comb += self.r_data.eq(reg(m, "r_data_reg", self.width, r.data))
            return m
        blocks = -(-self.width // DP16KD_WIDTH)
        w_data = Cat(self.w_data, Const(0, blocks * DP16KD_WIDTH - self.width))
        w_addr = Cat(self.w_addr, Const(0, 9 - len(self.w_addr)))
        r_addr = Cat(self.r_addr, Const(0, 9 - len(self.r_addr)))
        outs = []
        for k in range(blocks):
            di = w_data[k * DP16KD_WIDTH:(k + 1) * DP16KD_WIDTH]
            do = Signal(DP16KD_WIDTH, name=f"do{k}")
            ports = {"i_CLKA": ClockSignal(), "i_CEA": 1, "i_OCEA": 1, "i_WEA": 1, "i_RSTA": 0,
                     "i_CLKB": ClockSignal(), "i_CEB": 1, "i_OCEB": 1, "i_WEB": 0, "i_RSTB": 0}
            for j in range(3):
                ports[f"i_CSA{j}"] = ports[f"i_CSB{j}"] = 0
            # 36-bit mode: ADA0..3 are the byte enables of the write, ADx5..13 the word address.
            for j in range(4):
                ports[f"i_ADA{j}"] = self.w_en
            ports["i_ADA4"] = 0
            for j in range(5):
                ports[f"i_ADB{j}"] = 0
            for j in range(9):
                ports[f"i_ADA{j + 5}"] = w_addr[j]
                ports[f"i_ADB{j + 5}"] = r_addr[j]
            for j in range(18):
                ports[f"i_DIA{j}"] = di[j]
                ports[f"i_DIB{j}"] = di[18 + j]
                ports[f"o_DOA{j}"] = do[j]
                ports[f"o_DOB{j}"] = do[18 + j]
            m.submodules[f"bram{k}"] = Instance(
                "DP16KD", p_DATA_WIDTH_A=36, p_DATA_WIDTH_B=36, p_REGMODE_A="OUTREG", p_REGMODE_B="OUTREG",
                p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC", p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="DISABLED", **ports)
            outs.append(do)
        m.d.comb += self.r_data.eq(Cat(*outs)[:self.width])
        return m
