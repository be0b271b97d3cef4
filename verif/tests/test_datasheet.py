"""hdl.datasheet: the ports and bit fields it prints are the ones the Verilog and the layouts have."""

import re

import pytest
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.datasheet import datasheet, fields, markdown, parameters
from hdl.fgmp_layout import beat_layout
from hdl.smartquant.cxl_mem import ReqLayout, ReqOpcode
from sim.runner import to_verilog


_TOKEN = re.compile(r"\.?(?:(\w+)|\[(\d+)\]|\[0\.\.\d+\])")


def _init_for(path: str, layout, value):
    """A nested ``Layout.const`` initialiser setting only the field named ``path`` (as printed)."""
    match = _TOKEN.match(path)
    name, index, rest = match.group(1), match.group(2), path[match.end():]
    if isinstance(layout, data.ArrayLayout):
        if name is None and index is None:                # `[0..n-1]`: every plain element
            return [value] * layout.length
        element = layout.elem_shape
        blank = None if isinstance(element, data.Layout) else 0
        inner = _init_for(rest, element, value) if rest else value
        return [inner if i == int(index) else blank for i in range(layout.length)]
    shape = layout[name].shape
    return {name: _init_for(rest, data.Layout.cast(shape), value) if rest else value}


def _ones(row):
    width = row["width"] // row.get("count", 1)
    return (1 << width) - 1


@pytest.mark.parametrize("layout", [beat_layout("mixed", 2), beat_layout("fp4", 1), ReqLayout],
                         ids=["vmac-beat-x2", "vmac-beat-fp4", "cxl-req"])
def test_each_field_row_is_the_bits_the_layout_packs_it_into(layout):
    layout = data.Layout.cast(layout)
    rows = fields(layout)
    covered = 0
    for row in rows:
        mask = ((1 << row["width"]) - 1) << row["lsb"]
        if " (" in row["shape"]:                             # an enum: its largest member, not all ones
            member = max(ReqOpcode, key=lambda m: m.value) if row["shape"].startswith("ReqOpcode") else None
            packed = layout.const(_init_for(row["field"], layout, member)).as_value().value
            assert packed == member.value << row["lsb"], row["field"]
        else:
            packed = layout.const(_init_for(row["field"], layout, _ones(row))).as_value().value
            assert packed == mask, row["field"]
        assert row["msb"] - row["lsb"] + 1 == row["width"]
        assert not covered & mask, f"{row['field']} overlaps another field"
        covered |= mask
    assert covered == (1 << layout.size) - 1, "the fields tile the layout"


def test_an_array_of_plain_values_is_one_row_with_its_stride():
    [row] = fields(data.ArrayLayout(unsigned(8), 16), "codes", offset=3)
    assert row == {"field": "codes[0..15]", "lsb": 3, "msb": 130, "width": 128, "shape": "16 x unsigned(8)",
                   "count": 16, "stride": 8}


def test_an_enum_field_lists_its_members():
    opcode = next(row for row in fields(ReqLayout) if row["field"] == "opcode")
    assert opcode["shape"].startswith("ReqOpcode (") and f"MEM_RD={ReqOpcode.MEM_RD.value}" in opcode["shape"]


class _Sample(wiring.Component):
    """A sample: a stream in, a registered flag out.

    More words."""

    def __init__(self, width: int = 4, *, name_of: str = "x", clocked: bool = True):
        self.latency, self.clocked = 3, clocked
        super().__init__({"i": In(stream.Signature(data.StructLayout({"a": width, "b": 2}))), "flag": Out(1),
                          "offset": In(signed(3))})

    def elaborate(self, platform):
        m = Module()
        domain = m.d.sync if self.clocked else m.d.comb
        domain += self.flag.eq(self.i.payload.a.any() | (self.offset < 0))
        m.d.comb += self.i.ready.eq(1)
        return m


def _ports_in(text: str, top: str) -> dict:
    body = re.search(rf"module {top}\(.*?\);(.*?)endmodule", text, re.S).group(1)
    return {name: (direction, int(msb) + 1 if msb else 1) for direction, msb, name in
            re.findall(r"^\s*(input|output)\s+(?:signed\s+)?(?:\[(\d+):0\]\s+)?(\S+?)\s*;", body, re.M)}


@pytest.mark.parametrize("clocked", [True, False], ids=["clocked", "combinational"])
def test_the_ports_are_the_verilog_top_modules_ports(clocked):
    sample = _Sample(5, clocked=clocked)
    verilog = to_verilog(lambda: sample, {}, name="sample")
    sheet = datasheet(sample, name="sample", factory=_Sample, params={"width": 5}, verilog=verilog)
    listed = {row["port"]: (row["direction"], row["width"]) for row in sheet["ports"]}
    assert listed == _ports_in(verilog, "sample")
    assert ("clk" in listed) == clocked and ("rst" in listed) == clocked
    assert listed["i__payload"] == ("input", 7) and listed["flag"] == ("output", 1)
    assert listed["offset"] == ("input", 3)                   # `input signed [2:0]`
    assert sheet["timing"] == {"latency": 3}
    assert sheet["summary"] == "A sample: a stream in, a registered flag out."


def test_verilog_with_other_ports_than_the_signature_is_refused():
    verilog = to_verilog(lambda: _Sample(5), {}, name="sample")
    with pytest.raises(ValueError, match="the signature says"):
        datasheet(_Sample(6), name="sample", verilog=verilog)


def test_parameters_give_values_and_defaults():
    rows = parameters(_Sample, {"width": 5})
    assert rows == [{"name": "width", "value": "5", "default": "4", "given": True},
                    {"name": "name_of", "value": "'x'", "default": "'x'", "given": False},
                    {"name": "clocked", "value": "True", "default": "True", "given": False}]


def test_parameters_taken_by_kwargs_are_listed_as_passed_on():
    def factory(n: int = 1, **rest):
        pass
    rows = parameters(factory, {"n": 2, "lane_bits": 64})
    assert rows[1] == {"name": "lane_bits", "value": "64", "default": "(passed on by **rest)", "given": True}


def test_markdown_has_a_section_per_layout_port_and_the_extra_sections():
    sample = _Sample()
    text = markdown(datasheet(sample, name="sample", timing={"throughput": "one per cycle"},
                              sections={"Registers": "| a | b |"}))
    assert "### Bit fields of `i__payload` (6 bits)" in text
    assert "| `a` | [3:0] | 4 | unsigned(4) |" in text and "| `b` | [5:4] | 2 | unsigned(2) |" in text
    assert "| throughput | one per cycle |" in text and "## Registers\n\n| a | b |" in text
