"""Which watching account holds which channel: the pure decisions of
:mod:`bot.watcher.spread`, account names, and the admins' message about a lost
account."""

from __future__ import annotations

import pytest

from bot.watcher.spread import (
    JOINED,
    POLLED,
    Load,
    Moved,
    loads,
    moved_notice,
    place,
    place_all,
    promotions,
)
from config.accounts import (
    AccountNameError,
    account_of_stem,
    check_account_name,
    ordered,
    session_stem,
)


def test_a_new_channel_goes_to_the_account_with_the_most_room():
    current = [Load("main", 450, joined=400), Load("second", 450, joined=10),
               Load("third", 450, joined=200)]
    assert place(current) == ("second", JOINED)


def test_ties_go_to_main_first_then_by_order():
    assert place([Load("main", 3), Load("second", 3)]) == ("main", JOINED)
    assert place([Load("main", 3, joined=1), Load("second", 3)]) == ("second", JOINED)


def test_beyond_every_join_limit_the_account_polling_fewest_polls():
    current = [Load("main", 2, joined=2, polled=3), Load("second", 2, joined=2, polled=1)]
    assert place(current) == ("second", POLLED)


def test_no_account_is_a_clear_error():
    with pytest.raises(ValueError, match="no watching account"):
        place([])


def test_place_all_fills_each_account_to_its_limit_then_spreads_the_polls():
    places, after = place_all(10, [Load("main", 3), Load("second", 3), Load("third", 3)])
    joined = [a for a, m in places if m == JOINED]
    polled = [a for a, m in places if m == POLLED]
    assert sorted(joined) == ["main"] * 3 + ["second"] * 3 + ["third"] * 3
    assert polled == ["main"]
    assert [(c.account, c.joined, c.polled) for c in after] == [
        ("main", 3, 1), ("second", 3, 0), ("third", 3, 0)]
    # the next poll goes to the next account polling fewest
    assert place(after) == ("second", POLLED)


def test_a_full_account_counts_with_what_telegram_let_it_join():
    # Telegram refused second a join at 120 channels (it is in others tgmon does not hold)
    current = loads(["main", "second"], {("main", JOINED): 300, ("second", JOINED): 120,
                                         ("second", POLLED): 4}, 450, {"second": 120})
    assert [(c.account, c.limit, c.room, c.polled) for c in current] == [
        ("main", 450, 150, 0), ("second", 120, 0, 4)]
    assert place(current) == ("main", JOINED)


def test_polled_channels_go_to_an_account_with_room_until_none_has_any():
    # second was logged in since: 2 places; main polls 3 channels
    current = [Load("main", 2, joined=2, polled=3), Load("second", 2)]
    assert promotions([(11, "main"), (12, "main"), (13, "main")], current) == [
        (11, "second"), (12, "second")]


def test_a_polled_channel_stays_with_its_holder_when_it_has_room():
    # main's limit was raised: it joins what it polls; no move, no look-up
    current = [Load("main", 5, joined=2, polled=1), Load("second", 10)]
    assert promotions([(11, "main")], current) == [(11, "main")]


def test_no_room_no_promotion_and_joined_channels_never_move_for_balance():
    assert promotions([(11, "main")], [Load("main", 2, joined=2, polled=1),
                                       Load("second", 2, joined=2)]) == []
    # a lopsided but unpolled spread stays as it is
    assert promotions([], [Load("main", 450, joined=450), Load("second", 450)]) == []


def test_the_lost_account_message_names_it_what_moved_and_where():
    moved = [Moved("@rybar", "main", JOINED), Moved("@wargonzo", "third", POLLED),
             Moved("@dva_majors", "main", JOINED)]
    text = moved_notice("second", "the watching account second was banned by Telegram "
                        "(USER_DEACTIVATED_BAN): watch with another account: `tgmon login "
                        "--account NAME`", moved, ["main", "third"])
    assert text.splitlines() == [
        "⚠️ <b>Watching account second lost</b>: the watching account second was banned by "
        "Telegram (USER_DEACTIVATED_BAN): watch with another account: tgmon login --account "
        "NAME.",
        "Its 3 channels moved, each read on from where capture stopped:",
        "→ <b>main</b> (joined): @rybar, @dva_majors",
        "→ <b>third</b> (polled): @wargonzo",
        "Still watching with: main, third."]


def test_the_lost_account_message_escapes_and_shortens_long_lists():
    moved = [Moved(f"<b>{i}</b>", "main", JOINED) for i in range(25)]
    text = moved_notice("second", "x", moved, ["main"])
    assert "<b>0</b>" not in text and "&lt;b&gt;0&lt;/b&gt;" in text
    assert "and 5 more" in text
    assert "It held no channels" in moved_notice("second", "x", [], ["main"])


@pytest.mark.parametrize("name", ["second", "desk_2", "Second "])
def test_account_names(name):
    assert check_account_name(name) == name.strip().lower()


@pytest.mark.parametrize("name, says", [("user", "tgmon's own session files"),
                                        ("bot", "tgmon's own session files"),
                                        ("2nd", "starting with a letter"),
                                        ("desk-2", "underscores"), ("", "not an account"),
                                        ("a" * 33, "up to 32")])
def test_bad_account_names_say_what_a_name_is(name, says):
    with pytest.raises(AccountNameError, match=says):
        check_account_name(name)


def test_session_files_of_accounts():
    assert session_stem("main") == "user" and session_stem("second") == "second"
    assert account_of_stem("user") == "main" and account_of_stem("second") == "second"
    assert account_of_stem("bot") is None and account_of_stem("main") is None
    assert account_of_stem("user-test") is None
    assert ordered({"third", "main", "second"}) == ["main", "second", "third"]
