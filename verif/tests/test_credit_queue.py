"""hdl.credit_queue: parameters (its behaviour is checked through the activation unit's benches:
back-pressure, a full queue held, one block per cycle)."""

import pytest

from hdl.credit_queue import CreditQueue


@pytest.mark.parametrize("kwargs, match", [({"depth": 1}, "1"), ({"depth": 513}, "513"), ({"depth": True}, "True"),
                                           ({"depth": 8, "target": "m9k"}, "m9k")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CreditQueue(8, **kwargs)
