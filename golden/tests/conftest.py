import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("quick", max_examples=60, deadline=None)
settings.register_profile("regress", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


@pytest.fixture
def rng(request):
    """A NumPy generator whose seed is printed, and settable with SEED=<n>."""
    seed = int(os.environ.get("SEED", np.random.SeedSequence().entropy % 2**32))
    print(f"\n[{request.node.name}] SEED={seed}")
    return np.random.default_rng(seed)
