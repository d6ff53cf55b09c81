"""The soak in CI: a fixed handful of generated days (one day, three channels each),
played through the real app in a child process and checked against every invariant of
bot.sim.invariants. Together they hold both access modes, groups and every fault kind
but account_banned; ``python -m bench soak --seeds N`` plays many more."""

from __future__ import annotations

import pytest

from bot.sim.soak import Shape, replay_commands, run_seed

SHAPE = Shape(days=1, channels=3)
# 1: allowlist, downtime, Telegram unreachable for a while, flood waits, a channel renamed;
# 23: open, two groups, a person blocks the bot, a channel goes private, disconnects,
#     pushes lost, Telegram unreachable;
# 25: open, downtime, blocks, pushes lost, flood waits, Telegram unreachable, the
#     watching account's session revoked late in the day (tgmon must stop).
SEEDS = (1, 23, 25)
# Not a measure of speed: a run that never ends must fail rather than hang CI.
HANG = 300.0


@pytest.mark.parametrize("seed", SEEDS)
def test_a_generated_day_ends_and_holds_every_invariant(seed, tmp_path):
    result = run_seed(seed, tmp_path / f"seed-{seed}", SHAPE, timeout=HANG, keep=True)
    replay = "\n".join(f"  replay: {c}" for c in replay_commands(result, SHAPE))
    assert result.ok, "\n".join([f"seed {seed}:", *result.problems(), replay])
    assert result.checked["posts that must be stored"] > 0
    assert result.checked["messages from the bot"] > 0
