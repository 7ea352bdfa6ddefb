"""The per-process key pool: round robin, cooldowns, and a key its streak disabled."""

from dataclasses import replace

from routing.keypool import DISABLE_AFTER, KeyPools
from routing.table import KeyConfig
from tests.routing.test_formats import PROVIDER

FIRST, SECOND = KeyConfig(1, "fp-first", "sk-first"), KeyConfig(2, "fp-second", "sk-second")
POOLED = replace(PROVIDER, keys=(FIRST, SECOND))


def test_each_request_starts_one_key_further_and_cooling_keys_go_last() -> None:
    pools = KeyPools()
    assert [pools.candidates(POOLED)[0] for _ in range(4)] == [FIRST, SECOND, FIRST, SECOND]
    pools.report_failure("p", FIRST, cooldown_seconds=60, in_streak=False)  # a 429
    assert pools.candidates(POOLED) == [SECOND, FIRST]
    assert pools.candidates(POOLED) == [SECOND, FIRST]


def test_a_key_its_streak_disabled_is_left_out_at_once_even_when_its_cooldown_is_over() -> None:
    """Before the snapshot without the key arrives (its database write and generation bump
    run in the background, and a bump can be late), this process never sends it again."""
    pools = KeyPools()
    pools.candidates(POOLED)
    for _ in range(DISABLE_AFTER):
        pools.report_failure("p", FIRST, cooldown_seconds=0)
    assert [pools.candidates(POOLED) for _ in range(3)] == [[SECOND]] * 3


def test_a_provider_whose_only_key_its_streak_disabled_has_no_candidate() -> None:
    """The door then answers the 503 that says the provider has no enabled key, before
    any upstream call."""
    pools, alone = KeyPools(), replace(PROVIDER, keys=(FIRST,))
    pools.candidates(alone)
    for _ in range(DISABLE_AFTER):
        pools.report_failure("p", FIRST, cooldown_seconds=60)
    assert pools.candidates(alone) == []


def test_a_new_snapshot_that_still_holds_the_key_was_re_enabled_and_forgives_its_streak() -> None:
    pools = KeyPools()
    pools.candidates(POOLED)
    for _ in range(DISABLE_AFTER):
        pools.report_failure("p", FIRST, cooldown_seconds=60)
    assert FIRST not in pools.candidates(POOLED)
    rebuilt = replace(POOLED, keys=(FIRST, SECOND))  # an operator re-enabled it: a new tuple
    assert set(pools.candidates(rebuilt)) == {FIRST, SECOND}
