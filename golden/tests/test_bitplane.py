"""SmartQuant bit-plane layout, views, address map and traffic model."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from golden import bitplane as bp

int8_weights = st.integers(1, 4).flatmap(
    lambda g: arrays(np.int8, g * 512, elements=st.integers(-128, 127)))


@given(q=int8_weights)
def test_planes_round_trip_losslessly(q):
    assert np.array_equal(bp.from_planes(bp.to_planes(q)), q)


@given(q=int8_weights)
def test_view_8_is_the_plain_int8_layout(q):
    assert np.array_equal(bp.read_view(bp.to_planes(q), 8).reshape(-1), q.view(np.uint8))


@given(q=int8_weights, k=st.integers(1, 8))
def test_view_k_returns_the_arithmetic_shift(q, k):
    codes = bp.unpack_view(bp.read_view(bp.to_planes(q), k), k).reshape(-1)
    expected = (q.astype(np.int64) >> (8 - k)) & ((1 << k) - 1)
    assert np.array_equal(codes, expected)


@given(q=int8_weights, k=st.integers(1, 7))
def test_midpoint_reconstruction_is_within_half_a_step(q, k):
    view = bp.read_view(bp.to_planes(q), k)
    rec = bp.dequantize_view(view, k, np.ones(q.size // 128), scale_group=128)
    err = rec - q
    assert np.abs(err).max() <= 2 ** (7 - k)


def test_plane_bit_order_is_documented_order():
    q = np.zeros(512, np.int8)
    q[9] = -128                                          # only bit 7 (the sign) of weight 9
    planes = bp.to_planes(q)
    assert planes[0, 0, 1] == 0b10 and planes[0, 1:].sum() == 0 and planes[0, 0].sum() == 2


def test_packed_stream_bit_order():
    q = np.zeros(512, np.int8)
    q[1] = 0b0101_0000                                   # view 4 code 0b0101 for weight 1
    line = bp.read_view(bp.to_planes(q), 4)[0]
    assert line[0] == 0b0101_0000 and line[1:].sum() == 0   # stream bits 4..7, LSB first


@pytest.mark.parametrize("k, cap", [(8, 3), (6, 1), (4, 4), (5, 2)])
def test_a_cap_fetches_fewer_planes_and_fills_the_midpoint(k, cap, rng):
    q = rng.integers(-128, 128, 1024).astype(np.int8)
    codes = bp.view_codes(bp.to_planes(q), k, caps=cap).reshape(-1).astype(np.int64)
    e = min(k, cap)
    top = (q.astype(np.int64) >> (8 - e)) & ((1 << e) - 1)
    assert np.array_equal(codes >> (k - e), top)
    fill = (1 << (k - e - 1)) if e < k else 0
    assert (codes & ((1 << (k - e)) - 1) == fill).all()


def test_int8_quantization_is_symmetric_per_group(rng):
    w = rng.standard_normal(512) * 3
    w[128:256] = 0
    q, s = bp.quantize_int8(w, group=128)
    assert s[1] == 1.0 and (q[128:256] == 0).all() and np.abs(q).max() == 127 and q.min() >= -127
    assert np.abs(bp.dequantize_int8(q, s) - w).max() <= s.max() / 2 + 1e-12


def test_view_map_round_trip_and_bounds():
    vm = bp.ViewMap(3, dram_base=4096)
    assert vm.stride == 2048
    for k in range(1, 9):
        for g in range(3):
            for line in range(k):
                assert vm.decode(vm.encode(k, g, line)) == bp.AddressDecode(k, g, line)
    assert vm.decode(vm.base(2) + 3 * 2 * 64) is None        # past the end of view 2
    assert vm.decode(8 * vm.stride) is None and vm.decode(65) is None and vm.decode(-64) is None
    assert vm.burst_address(2, 7) == 4096 + (2 * 8 + 7) * 64
    with pytest.raises(ValueError, match="precision k"):
        vm.encode(9, 0, 0)
    with pytest.raises(ValueError, match="dram_base"):
        bp.ViewMap(1, dram_base=3)


@pytest.mark.parametrize("k", range(1, 9))
def test_streaming_a_tensor_reads_k_eighths_of_int8(k):
    vm = bp.ViewMap(6)
    stream = [vm.encode(k, g, line) for g in range(6) for line in range(k)]
    assert bp.dram_bursts(vm, stream) == 6 * k                # INT8 would be 6 * 8


def test_traffic_model_buffer_and_caps():
    vm = bp.ViewMap(2)
    # group 0 at 3 bits, then at 5 bits: only 2 more planes; group 1, then group 0 again: refetch.
    reads = [vm.encode(3, 0, 0), vm.encode(5, 0, 1), vm.encode(2, 1, 0), vm.encode(5, 0, 0)]
    assert bp.dram_bursts(vm, reads) == 3 + 2 + 2 + 5
    assert bp.dram_bursts(vm, reads, caps=[2, 8]) == 2 + 0 + 2 + 2
    assert bp.dram_bursts(vm, [8 * vm.stride, 7]) == 0       # outside every view: no traffic


def test_bad_input():
    with pytest.raises(ValueError, match="int8"):
        bp.to_planes(np.zeros(512, np.int16))
    with pytest.raises(ValueError, match="multiple of the block size 512"):
        bp.to_planes(np.zeros(500, np.int8))
    with pytest.raises(ValueError, match="group must be 512"):
        bp.to_planes(np.zeros(512, np.int8), group=256)
    with pytest.raises(ValueError, match="caps"):
        bp.read_view(bp.to_planes(np.zeros(512, np.int8)), 4, caps=0)
    two_groups = bp.to_planes(np.zeros(1024, np.int8))
    with pytest.raises(ValueError, match=r"one plane cap per group \(2\) or a scalar, got shape \(3,\)"):
        bp.read_view(two_groups, 4, caps=[8, 8, 8])
    with pytest.raises(ValueError, match=r"one plane cap per group \(2\) or a scalar, got shape \(1, 2\)"):
        bp.read_view(two_groups, 4, caps=[[8, 8]])
    with pytest.raises(ValueError, match="integers 1..8"):
        bp.read_view(two_groups, 4, caps=[2.5, 8])
    with pytest.raises(ValueError, match="w is empty"):
        bp.quantize_int8(np.zeros(0))
    with pytest.raises(ValueError, match="w is complex"):
        bp.quantize_int8(np.ones(128) * 1j)
    for amax in (1e300, 1e-300):
        with pytest.raises(ValueError, match=f"group 1 has amax {re.escape(repr(amax))}, whose scale amax / 127 FP32 cannot hold"):
            bp.quantize_int8(np.concatenate([np.ones(128), np.full(128, amax)]))
    with pytest.raises(ValueError, match="scales"):
        bp.dequantize_view(bp.read_view(bp.to_planes(np.zeros(512, np.int8)), 4), 4, np.ones(3))


# --- PlaneStoreModel: the controller's transaction-level behaviour -----------------------------

def _int8_lines(q):
    return q.view(np.uint8).reshape(-1, 64)


def _write_groups(model, q, groups):
    vm = model.view_map
    for g in groups:
        for line in range(8):
            assert model.write(vm.encode(8, g, line), _int8_lines(q)[8 * g + line])


@given(q=int8_weights, k=st.integers(1, 8), buffers=st.integers(1, 4))
def test_store_model_writes_planes_and_reads_every_view(q, k, buffers):
    vm = bp.ViewMap(q.size // 512)
    model = bp.PlaneStoreModel(vm, buffers)
    _write_groups(model, q, range(vm.n_groups))
    assert np.array_equal(model.dram, bp.to_planes(q))
    assert model.writes == 8 * vm.n_groups and sum(model.reads) == 0       # full groups: no RMW
    lines = [model.read(vm.encode(k, g, line)) for g in range(vm.n_groups) for line in range(k)]
    assert np.array_equal(np.array(lines), bp.read_view(bp.to_planes(q), k))


def test_partial_group_is_read_modify_written_on_the_next_group():
    vm = bp.ViewMap(2)
    old = np.arange(1024).astype(np.int8)
    model = bp.PlaneStoreModel(vm, planes=bp.to_planes(old))
    new_line = np.full(64, 0x81, np.uint8)
    model.write(vm.encode(8, 0, 3), new_line)
    assert model.pending_write and model.writes == 0
    model.write(vm.encode(8, 1, 0), new_line)                  # another group: flush group 0 first
    assert model.reads[8] == 8 and model.writes == 8
    want = old.copy()
    want[3 * 64:4 * 64] = np.int8(-127)
    assert np.array_equal(bp.from_planes(model.dram[:1]), want[:512])


def test_a_read_of_the_combining_group_sees_the_write():
    vm = bp.ViewMap(1)
    model = bp.PlaneStoreModel(vm)
    model.write(vm.encode(8, 0, 5), np.full(64, 7, np.uint8))
    assert np.array_equal(model.read(vm.encode(8, 0, 5)), np.full(64, 7, np.uint8))
    assert model.reads[8] == 8 and model.writes == 8 and not model.pending_write
    model.read(vm.encode(3, 0, 0))                             # the flushed group stays buffered
    assert model.reads[3] == 0


def test_cap_is_latched_while_the_group_stays_buffered():
    vm = bp.ViewMap(3)
    q = np.random.default_rng(1).integers(-127, 128, 3 * 512).astype(np.int8)
    model = bp.PlaneStoreModel(vm, buffers=1, planes=bp.to_planes(q))
    first = model.read(vm.encode(6, 0, 0), cap=2)
    second = model.read(vm.encode(6, 0, 1), cap=8)             # new cap, same residency: still 2 planes
    assert np.array_equal(np.array([first, second]), bp.read_view(bp.to_planes(q)[:1], 6, caps=2)[:2])
    model.read(vm.encode(6, 1, 0), cap=8)                      # evicts group 0
    again = model.read(vm.encode(6, 0, 1), cap=8)
    assert np.array_equal(again, bp.read_view(bp.to_planes(q)[:1], 6)[1])
    assert model.reads[6] == 2 + 6 + 6


def test_least_recently_used_buffer_is_replaced():
    vm = bp.ViewMap(3)
    model = bp.PlaneStoreModel(vm, buffers=2)
    for g in (0, 1, 0, 2, 0):                                  # 2 evicts 1 (LRU), 0 stays
        model.read(vm.encode(1, g, 0))
    assert model.reads[1] == 3


def test_refused_writes_and_poisoned_reads_cost_nothing():
    vm = bp.ViewMap(1)
    model = bp.PlaneStoreModel(vm)
    assert not model.write(vm.encode(4, 0, 0), np.zeros(64, np.uint8))
    assert not model.write(8 * vm.stride, np.zeros(64, np.uint8))
    assert model.read(8 * vm.stride) is None
    assert sum(model.reads) == model.writes == model.host_writes == 0
    with pytest.raises(ValueError, match="buffers"):
        bp.PlaneStoreModel(vm, buffers=0)
    with pytest.raises(ValueError, match="precision k"):
        model.read(0, cap=9)


# --- the plane pool (docs/smartquant.md section 4) -----------------------------------------

@pytest.mark.parametrize("planes, slots", [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (6, 8), (7, 8), (8, 8)])
def test_an_entry_takes_a_power_of_two_of_slots(planes, slots):
    assert bp.slot_size(planes) == slots


def test_pool_entries_are_aligned_and_placed_in_a_ring():
    pool = bp.PlanePool(rows=1)                                # 8 slots, a tag table of 8
    assert [pool.allocate(g, 8, e).base for g, e in ((0, 1), (1, 2), (2, 3))] == [0, 2, 4]
    assert pool.head == 0                                      # slot 1 is padding; the ring is full
    pool.allocate(3, 8, 1)                                     # wraps to slot 0: evicts group 0 only
    assert [(x.group, x.base) for x in pool.entries] == [(1, 2), (2, 4), (3, 0)]
    pool.allocate(4, 8, 2)                                     # base 2 (slot 1 padding): evicts group 1
    assert [(x.group, x.base) for x in pool.entries] == [(2, 4), (3, 0), (4, 2)]
    pool.allocate(5, 8, 8)                                     # a whole row: evicts everything
    assert [(x.group, x.base) for x in pool.entries] == [(5, 0)] and pool.evicted == 5


def test_pool_lookup_goes_through_the_tag_table():
    vm = bp.ViewMap(16)
    model = bp.PlaneStoreModel(vm, pool_rows=1)                # tag table of 8: groups 0 and 8 collide
    for g in (0, 8, 0):
        model.read(vm.encode(1, g, 0))
    assert model.reads[1] == 3                                 # group 0 is still in the ring, not found
    model.read(vm.encode(1, 0, 0))
    assert model.reads[1] == 3


def test_a_group_needing_more_planes_than_its_entry_holds_is_fetched_again():
    vm = bp.ViewMap(2)
    q = np.random.default_rng(2).integers(-127, 128, 2 * 512).astype(np.int8)
    model = bp.PlaneStoreModel(vm, pool_rows=2, planes=bp.to_planes(q))
    model.read(vm.encode(2, 0, 0), cap=3)                      # 2 planes, a 2-slot entry, cap 3 latched
    model.read(vm.encode(3, 0, 0), cap=8)                      # 3 > 2 slots: a 4-slot entry, all 3 again
    assert (model.reads[2], model.reads[3]) == (2, 3)
    line = model.read(vm.encode(8, 0, 7), cap=8)               # the latched cap 3 still holds: no fetch
    assert model.reads[8] == 0
    assert np.array_equal(line, bp.read_view(bp.to_planes(q)[:1], 8, caps=3)[7])
    model.read(vm.encode(4, 0, 0))
    assert model.reads[4] == 0                                 # min(4, 3) = 3 planes held


@pytest.mark.parametrize("pool_rows", [2, None])
def test_each_read_says_what_it_found_in_the_buffer(pool_rows):
    vm = bp.ViewMap(2)
    model = bp.PlaneStoreModel(vm, 2, pool_rows=pool_rows)
    outcomes = []
    for k, line in [(3, 0), (3, 1), (4, 0), (8, 0), (1, 0)]:   # group 0: 3 planes, then 4, then 8
        before = sum(model.reads)
        model.read(vm.encode(k, 0, line))
        outcomes.append((model.last_read, sum(model.reads) - before))
    # a 3-plane entry takes 4 slots: 4 planes fit it, 8 do not (a larger entry, all 8 fetched again);
    # the group buffers of the earlier policy never grow, they fetch the planes lacking
    grown = ("grown", 8) if pool_rows else ("hit, planes fetched", 4)
    assert outcomes == [("miss", 3), ("hit", 0), ("hit, planes fetched", 1), grown, ("hit", 0)]
    model.read(vm.encode(1, 1, 0))
    assert model.last_read == "miss"


@pytest.mark.parametrize("held_view, rmw_reads", [(8, 0), (2, 8)])
def test_a_flush_uses_a_whole_row_entry(held_view, rmw_reads):
    vm = bp.ViewMap(1)
    model = bp.PlaneStoreModel(vm, pool_rows=1)
    for line in range(held_view):
        model.read(vm.encode(held_view, 0, line))
    before = model.reads[8]
    model.write(vm.encode(8, 0, 3), np.full(64, 5, np.uint8))
    model.flush()
    assert model.reads[8] - before == rmw_reads and model.writes == 8
    model.read(vm.encode(8, 0, 0))
    assert model.reads[8] - before == rmw_reads                # the flushed group stays buffered


@settings(deadline=None, max_examples=40)
@given(k=st.integers(1, 8), rows=st.integers(1, 8), n_groups=st.integers(1, 40),
       cap=st.integers(1, 8))
def test_a_sequential_stream_through_the_pool_reads_each_plane_once(k, rows, n_groups, cap):
    vm = bp.ViewMap(n_groups)
    model = bp.PlaneStoreModel(vm, pool_rows=rows)
    for g in range(n_groups):
        for line in range(k):
            model.read(vm.encode(k, g, line), cap=cap)
    assert model.reads[k] == min(k, cap) * n_groups and sum(model.reads) == model.reads[k]


@settings(deadline=None, max_examples=60)
@given(q=int8_weights, data=st.data(), rows=st.integers(1, 3), cap=st.integers(1, 8))
def test_pool_and_buffers_serve_the_same_data_under_random_traffic(q, data, rows, cap):
    """Under one cap setting the buffering policy shows in the counters only, never in the data."""
    vm = bp.ViewMap(q.size // 512)
    planes = bp.to_planes(q)
    pool, lru = bp.PlaneStoreModel(vm, pool_rows=rows, planes=planes), bp.PlaneStoreModel(vm, 2, planes)
    ops = data.draw(st.lists(st.tuples(st.booleans(), st.integers(1, 8), st.integers(0, vm.n_groups - 1),
                                       st.integers(0, 7)), max_size=40))
    for write, k, g, line in ops:
        if write:
            values = np.full(64, (g * 8 + line) % 251, np.uint8)
            assert pool.write(vm.encode(8, g, line), values, cap) and lru.write(vm.encode(8, g, line), values, cap)
        else:
            address = vm.encode(k, g, line % k)
            assert np.array_equal(pool.read(address, cap), lru.read(address, cap))
    pool.flush(), lru.flush()
    assert np.array_equal(pool.dram, lru.dram) and pool.writes == lru.writes


def test_pool_rows_must_be_positive():
    with pytest.raises(ValueError, match="pool rows"):
        bp.PlaneStoreModel(bp.ViewMap(1), pool_rows=0)
