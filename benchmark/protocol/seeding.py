"""Random generators for prompt simulation, seeded by what a prompt belongs to.

Every draw for one object comes from a generator seeded by (run seed, dataset, case, object, setting key), hashed
with BLAKE2b, so prompts are identical across models, runs, workers, machines and the order in which cases run.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["prompt_rng"]


def prompt_rng(seed: int, dataset_id: str, case_id: str, object_name: str, setting_key: str) -> np.random.Generator:
    """The generator of one object's prompt draws in one setting."""
    text = "\0".join((str(int(seed)), dataset_id, case_id, object_name, setting_key))
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "big")))
