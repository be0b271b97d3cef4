"""verif.formal: the quick formal jobs hold, and a property that is false is found false."""

import pytest

from verif.formal.jobs import JOBS, CreditQueueContract
from verif.formal.sby import run_sby

QUICK = [job for job in JOBS if job.quick]
# What each quick job reaches: the decoders are combinational (a one-step check is a proof); the
# credit queue's induction does not close (its block RAM's unreachable contents), nor the arbiter's
# (its fairness counter against a preference the checker cannot see), so they are bounded.
EXPECTED = {"credit_queue_contract": "bounded", "host_arbiter_streams": "bounded"}


@pytest.mark.parametrize("job", QUICK, ids=[job.name for job in QUICK])
def test_quick_formal_job_holds(job, tmp_path):
    checker = job.build()
    verdict = run_sby(job.name, checker, checker.ports, tmp_path, mode=job.mode, depth=job.depth)
    print(verdict.line())
    assert verdict.result == EXPECTED.get(job.name, "proved"), verdict.line()


def test_a_false_credit_bound_is_found(tmp_path):
    checker = CreditQueueContract(claimed_bound=2)          # the queue holds 3 in flight: 2 is false
    verdict = run_sby("false_credit_bound", checker, checker.ports, tmp_path, mode="prove", depth=16)
    assert verdict.result == "failed"


@pytest.mark.parametrize("mode, depth", [("sim", 1), ("prove", 0)])
def test_invalid_job_settings_are_refused(mode, depth, tmp_path):
    checker = CreditQueueContract()
    with pytest.raises(ValueError, match="mode" if mode == "sim" else "depth"):
        run_sby("bad", checker, checker.ports, tmp_path, mode=mode, depth=depth)
