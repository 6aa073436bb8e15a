"""The fuzz campaign, short (issue 24): a few thousand hostile messages per endpoint with a fixed seed, so a
parser or handler that starts crashing, hanging or answering without a code fails the suite at once. The
long runs (100 000 per endpoint) are ``bench/fuzz.py``; their figures are in docs/reliability.md."""

from __future__ import annotations

import pytest

from simulation.fuzz import RUNNERS

#: Messages per endpoint and the seed: fixed, so a failure here is reproduced by the same command.
MESSAGES = 2000
SEED = 24
#: The watchdog's bound in the suite: wider than the campaign's 2 s, as the suite shares its cores.
HANG_S = 10.0


@pytest.mark.parametrize("endpoint", list(RUNNERS))
async def test_hostile_messages_neither_crash_nor_hang_and_every_refusal_has_a_code(endpoint: str) -> None:
    tally = await RUNNERS[endpoint](MESSAGES, SEED, HANG_S)
    assert tally.messages == MESSAGES
    assert not tally.crashes, "\n".join(tally.crashes[:5])
    assert not tally.hangs, "\n".join(tally.hangs[:5])
    # The campaign reached behind the parser: some messages were acted on, many refused with their codes.
    assert tally.accepted > 0 and sum(tally.refused.values()) > MESSAGES // 2, tally.summary()
