"""hdl.smartquant.register_map: one table, consistent, and the spec's table is generated from it."""

from pathlib import Path

import pytest

from hdl.smartquant.register_map import REGISTER_MAP, REGISTERS, markdown_table, region_register

SPEC = Path(__file__).resolve().parents[3] / "docs" / "smartquant.md"


def test_the_spec_holds_the_generated_table():
    assert markdown_table() in SPEC.read_text(), "run python -m hdl.smartquant.register_map and paste the table"


def test_every_register_element_has_its_own_address_and_fields_fit_without_overlap():
    addresses = [a for r in REGISTER_MAP for a in r.addresses().values()]
    assert len(addresses) == len(set(addresses)) and all(0 <= a < 256 for a in addresses)
    for r in REGISTER_MAP:
        used = 0
        for f in r.fields:
            assert f.mask >> 32 == 0 and used & f.mask == 0, (r.name, f.name)
            used |= f.mask


def test_region_and_counter_addresses_follow_the_arrays():
    assert region_register(2, "cap") == 0x12 + 8 and REGISTERS["LINES_SERVED_1"] == 0x40
    assert REGISTERS["DRAM_READS_8"] == 0x4F
    with pytest.raises(ValueError, match="region"):
        region_register(12, "base")
