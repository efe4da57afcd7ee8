"""Seeds derived from keys, so that every random draw of a run is a function of where it is made.

A draw made for (seed, rank, batch index) is the same whether the run was interrupted or not,
and whatever the number of data workers: resuming at step s re-creates exactly the draws of
the uninterrupted run.
"""

import numpy as np
import torch

DATA_STREAM = 0
"""Key of the draws that pick training segments."""
BRIDGE_STREAM = 1
"""Key of the draws of masks, fill noise, times and bridge noise."""
VALIDATION_STREAM = 2
"""Key of the draws of the fixed validation set."""


def derived_seed(*keys: int) -> int:
    """A 63-bit seed that depends on every key (numpy's `SeedSequence` hashing)."""
    state = np.random.SeedSequence([int(key) for key in keys]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def numpy_generator(*keys: int) -> np.random.Generator:
    """A numpy generator seeded from `keys`."""
    return np.random.default_rng(derived_seed(*keys))


def torch_generator(*keys: int) -> torch.Generator:
    """A CPU torch generator seeded from `keys` (CPU draws are the same on every device)."""
    return torch.Generator().manual_seed(derived_seed(*keys))
