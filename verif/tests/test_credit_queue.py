"""hdl.credit_queue: parameters. Its behaviour is checked through the activation unit's benches
(back-pressure, a full queue held with ``o`` stalled, one block per cycle) and the GEMV bench,
whose 4,096 blocks wrap the queue's 512-word pointers."""

import pytest

from hdl.credit_queue import CreditQueue


@pytest.mark.parametrize("kwargs, match", [({"depth": 1}, "got 1$"), ({"depth": 513}, "got 513$"),
                                           ({"depth": True}, "got True$"), ({"depth": 8, "target": "m9k"}, "'m9k'")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CreditQueue(8, **kwargs)
