"""The soak's scenario generator: seeded, valid, and covering what the issue asks for
(every bot command, both access modes, groups, media, albums, forwards, every fault)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.commands import all_commands
from bot.commands.router import split_command
from bot.sim.generate import (
    BOT_USERNAME,
    ENDINGS,
    FAULT_KINDS,
    FILE_REFERENCES,
    QUIET_TAIL,
    generate,
)
from bot.sim.scenario import parse_scenario
from bot.sim.scenario_events import FAULTS, Fault, Message, Post, Press

SEEDS = range(100)


@pytest.fixture(scope="module")
def scenarios():
    return {seed: generate(seed) for seed in SEEDS}


def test_the_same_seed_gives_the_same_scenario_and_others_differ(scenarios):
    assert generate(7) == scenarios[7]
    assert json.dumps(scenarios[7]) != json.dumps(scenarios[8])


def test_every_generated_scenario_passes_the_validator(scenarios):
    for seed, data in scenarios.items():
        scenario = parse_scenario(json.dumps(data), f"seed {seed}")
        days = (scenario.end - scenario.start).days
        assert 1 <= days <= 3 and 1 <= len(scenario.channels) <= 8
        assert all(e.at <= scenario.end - QUIET_TAIL for e in scenario.events
                   if not isinstance(e.action, Press))


def test_shape_can_be_fixed_for_small_runs():
    data = generate(3, days=1, channels=2)
    assert len(data["channels"]) == 2
    scenario = parse_scenario(json.dumps(data))
    assert (scenario.end - scenario.start).days == 1


def test_the_generator_knows_every_fault_kind_of_the_simulation():
    # a new fault kind must be taught to the generator (and judged by the invariants)
    assert set(FAULT_KINDS) | set(ENDINGS) | set(FILE_REFERENCES) == set(FAULTS)


def test_across_seeds_everything_the_issue_lists_happens(scenarios):
    faults, actions, commands, modes = Counter(), Counter(), Counter(), Counter()
    media = albums = forwards = groups = 0
    for data in scenarios.values():
        scenario = parse_scenario(json.dumps(data))
        modes[data["settings"]["access"]] += 1
        groups += bool(data["groups"])
        for e in scenario.events:
            a = e.action
            actions[type(a).__name__] += 1
            if isinstance(a, Fault):
                faults[a.kind] += 1
            if isinstance(a, Message):
                found = split_command(a.text, BOT_USERNAME)
                if found:
                    commands[found[0]] += 1
            if isinstance(a, Post):
                media += a.post.media is not None
                albums += a.post.grouped_id is not None
                forwards += a.post.fwd_from is not None
    assert set(faults) == set(FAULTS)
    assert set(actions) == {"Post", "Edit", "Delete", "Views", "Message", "Press", "Fault"}
    assert set(all_commands().commands) <= set(commands)
    assert modes["open"] and modes["allowlist"] and groups and media and albums and forwards


def test_generated_texts_stay_within_telegram_limits_and_reach_near_them(scenarios):
    longest = 0
    for data in scenarios.values():
        scenario = parse_scenario(json.dumps(data))
        for e in scenario.events:
            if isinstance(e.action, Post):
                p = e.action.post
                units = len(p.text.encode("utf-16-le")) // 2
                assert units <= (1024 if p.media else 4096)
                longest = max(longest, units)
    assert longest > 3500
