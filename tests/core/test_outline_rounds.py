"""The silhouette stage's solver in rounds (core/outline_rounds.py): correspondences held per
round, iterations and callbacks counted across rounds."""

from __future__ import annotations

import numpy as np

from blender_smplify.core.dogleg import Status
from blender_smplify.core.outline_rounds import dogleg_in_rounds, round_lengths


def test_iterations_are_split_into_rounds_longest_first():
    assert round_lengths(8, 1) == [8]
    assert round_lengths(10, 3) == [4, 3, 3]
    assert round_lengths(2, 5) == [1, 1]


def test_each_round_holds_its_start_and_the_counts_go_on_across_rounds():
    """A toy ICP: r(x) = x − m, the 'match' m chosen by hold(x) as the nearest of a set of
    targets. Each round re-chooses it at the round's start; the callback's iterations run on
    from round to round; release is called once."""
    targets = np.array([[0.0, 0.0], [3.0, 3.0]])
    held, released, seen = [], [], []

    def hold(x):
        held.append((x.copy(), targets[np.argmin(np.sum((targets - x) ** 2, axis=1))]))

    def normal_equations(x):
        r = x - held[-1][1]
        return float(r @ r), r, np.eye(2)

    res = dogleg_in_rounds(
        normal_equations,
        np.array([1.4, 1.4]),
        hold,
        lambda: released.append(True),
        iterations=6,
        rounds=3,
        radius=0.5,
        callback=lambda it, energy: seen.append(it),
    )
    assert len(held) == 3 and released == [True]
    np.testing.assert_allclose(held[0][0], [1.4, 1.4])  # the first round holds the start
    assert not np.allclose(held[1][0], held[0][0])  # the second, the first's result
    assert seen == sorted(seen) and len(set(seen)) == len(seen) == res.iterations
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-6)
    assert res.status is not Status.CANCELLED
