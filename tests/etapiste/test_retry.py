"""The back-off every reconnect loop uses (etapiste.retry): full jitter under a doubling, capped ceiling,
reset by a success; the random source is pinned, so nothing here depends on timing."""

from __future__ import annotations

import random

import pytest

from etapiste.retry import Backoff


class Highest:
    """A random source that always draws the upper bound, and remembers the ranges it was asked for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


def test_ceiling_doubles_from_the_base_up_to_the_cap():
    rng = Highest()
    backoff = Backoff(base_s=0.5, cap_s=10.0, rng=rng)
    assert [next(backoff) for _ in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert all(a == 0.0 for a, _ in rng.ranges)  # full jitter: every draw may be as short as nothing


def test_every_delay_is_drawn_from_zero_to_the_ceiling():
    backoff = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(16))
    for _ in range(200):
        ceiling = backoff.ceiling()
        assert 0.0 <= next(backoff) <= ceiling <= 30.0


def test_a_seeded_source_gives_the_same_delays():
    first = Backoff(0.5, 30.0, random.Random(7))
    second = Backoff(0.5, 30.0, random.Random(7))
    assert [next(first) for _ in range(10)] == [next(second) for _ in range(10)]


def test_reset_after_a_success_starts_from_the_base_again():
    backoff = Backoff(base_s=0.5, cap_s=30.0, rng=Highest())
    for _ in range(6):
        next(backoff)
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0
    assert next(backoff) == 0.5


def test_a_lower_cap_for_one_draw_keeps_counting_failures():
    """A call the switchboard holds is retried at least every second, whatever the outage's length; after
    the call the ordinary cap applies again at the length the outage has reached."""
    backoff = Backoff(base_s=0.5, cap_s=10.0, rng=Highest())
    assert [backoff.next_delay(cap_s=1.0) for _ in range(5)] == [0.5, 1.0, 1.0, 1.0, 1.0]
    assert next(backoff) == 10.0
    assert backoff.next_delay(cap_s=60.0) == 10.0  # a per-draw cap only ever lowers the cap


def test_the_count_stops_at_the_cap_so_a_long_outage_cannot_overflow():
    backoff = Backoff(base_s=0.5, cap_s=30.0, rng=Highest())
    for _ in range(5000):
        next(backoff)
    assert backoff.failures == 6  # 0.5·2⁶ = 32 ≥ 30
    assert next(backoff) == 30.0


@pytest.mark.parametrize(("base_s", "cap_s", "message"), [
    (0.0, 1.0, "base_s must be greater than 0"),
    (-1.0, 1.0, "base_s must be greater than 0"),
    (float("nan"), 1.0, "base_s must be greater than 0"),
    (2.0, 1.0, "cap_s must be at least base_s"),
])  # fmt: skip
def test_nonsense_settings_are_refused_with_what_is_allowed(base_s: float, cap_s: float, message: str):
    with pytest.raises(ValueError, match=message):
        Backoff(base_s, cap_s)
