"""golden.dram: a banked DDR4 model's timing, row-buffer behaviour and energy."""

import dataclasses

import pytest

from golden.dram import DDR4_3200, BankedDram, stream_cost

D = DDR4_3200


def test_per_event_energies_follow_the_idd_formulas_for_a_rank_of_eight_x8_devices():
    # By hand from the datasheet currents (mA), clocks of 0.63 ns, 8 devices, VDD 1.2 V:
    # activate: (57 * 74 - (52 * 52 + 37 * 22)) = 700 mA clocks; read: (168 - 52) * 4 = 464;
    # write: (150 - 52) * 4 = 392; refresh: (250 - 52) * 560 = 110,880.
    per_ma_clock = 1.2 * 8 * 0.63
    assert D.activate_pj == pytest.approx(700 * per_ma_clock)          # 4.23 nJ
    assert D.read_pj == pytest.approx(464 * per_ma_clock)              # 2.81 nJ per 64-byte burst
    assert D.write_pj == pytest.approx(392 * per_ma_clock)
    assert D.refresh_pj == pytest.approx(110_880 * per_ma_clock)
    assert D.bursts_per_row == 128 and D.devices == 8


def test_an_empty_bank_activates_then_reads():
    dram = BankedDram()
    assert dram.access(0, 0) == D.tRCD + D.CL + D.BL // 2
    assert (dram.counters.row_empty, dram.counters.activates, dram.counters.row_hits) == (1, 1, 0)


def test_row_hits_stream_one_burst_per_tccd():
    dram = BankedDram()
    first = dram.access(0, 0)
    done = [dram.access(0, a) for a in range(1, 10)]
    assert done == [first + D.tCCD * j for j in range(1, 10)]
    assert dram.counters.row_hits == 9


def test_a_row_miss_precharges_no_earlier_than_tras_after_the_activate():
    dram = BankedDram()
    dram.access(0, 0)                                   # bank 0, row 0, activated at clock 0
    other_row = D.bursts_per_row * D.banks              # bank 0, row 1
    assert dram.locate(other_row) == (0, 1, 0)
    assert dram.access(0, other_row) == D.tRAS + D.tRP + D.tRCD + D.CL + D.BL // 2
    assert dram.counters.row_misses == 1
    # Much later, the precharge is no longer held by tRAS.
    t = 10_000
    assert dram.access(t, 0) == t + D.tRP + D.tRCD + D.CL + D.BL // 2


def test_refresh_closes_every_row_every_trefi():
    dram = BankedDram()
    dram.access(0, 0)
    done = dram.access(D.tREFI + 1, 1)                  # same row, but a refresh came first
    assert dram.counters.refreshes == 1 and dram.counters.row_empty == 2 and dram.counters.row_hits == 0
    assert done >= D.tREFI + D.tRP + D.tRFC + D.tRCD + D.CL + D.BL // 2


@pytest.mark.parametrize("k", range(1, 9))
def test_sequential_planes_hit_the_open_row_all_but_once_per_row(k):
    # 16 groups of 8 bursts per 128-burst row; a view-k stream reads k bursts of each: one
    # activate per row, so the hit rate is 1 - 1 / (16 k).
    cost = stream_cost(k, 64)
    assert cost["counters"].activates == 4
    assert cost["row_hit_rate"] == pytest.approx(1 - 1 / (16 * k))
    assert cost["counters"].reads == 64 * k


def test_a_long_stream_runs_near_the_bus_rate_and_costs_less_at_fewer_bits():
    costs = {k: stream_cost(k, 4096) for k in (1, 4, 8)}
    for k, cost in costs.items():
        bus_ns = 4096 * k * D.tCCD * D.tCK_ns
        assert bus_ns <= cost["time_ns"] <= 1.1 * bus_ns           # refresh and activates take the rest
    assert costs[1]["energy_pj"]["total"] < costs[4]["energy_pj"]["total"] < costs[8]["energy_pj"]["total"]


def test_caps_per_group_read_only_the_planes_kept():
    cost = stream_cost([8, 2, 0, 5], 4)
    assert cost["counters"].reads == 15


@pytest.mark.parametrize("call, match", [
    (lambda: BankedDram().access(0, -1), "burst address"),
    (lambda: BankedDram().access(0, 1.5), "burst address"),
    (lambda: stream_cost(9, 4), "bursts_per_group"),
    (lambda: stream_cost([1, 2], 4), "bursts_per_group"),
    (lambda: dataclasses.replace(D, tRCD=0), "tRCD"),
    (lambda: dataclasses.replace(D, BL=4), "64 bytes"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_requests_must_arrive_in_order():
    dram = BankedDram()
    dram.access(100, 0)
    with pytest.raises(ValueError, match="in order"):
        dram.access(50, 1)


def test_a_backlogged_stream_is_held_to_the_refresh_availability():
    """Requests all waiting from time 0: the rate is the column rate less the time refreshing."""
    dram = BankedDram()
    bursts = 40_000                                                   # ~100 us: ~13 refreshes
    done = max(dram.access(0.0, address) for address in range(bursts))      # DRAM clocks
    rate, ceiling = bursts / (done * D.tCK_ns), D.refresh_availability * D.peak_bursts_per_ns
    assert D.refresh_availability == pytest.approx(0.955, abs=0.001)
    assert 0.98 * ceiling <= rate <= ceiling
