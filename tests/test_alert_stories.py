"""Which posts tell the same story: forwards, near-duplicate texts of other channels,
album members; only within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.plan import Alerted, story_root
from bot.alerts.stories import StoryIndex, StoryPost, near_duplicates, shingles

T = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
NEWS = ("Командующий группировкой войск «Юг» генерал-полковник Геннадий Анашкин снят с "
        "должности, сообщают источники в Минобороны. Его обязанности временно исполняет "
        "заместитель.")


def post(post_id, channel, text="", *, minutes=0, forward=None, album=None, message=None):
    return StoryPost(post_id, channel, message or post_id, T + timedelta(minutes=minutes),
                     forward, album, shingles(text), bool(text.strip()))


def test_near_duplicates_survive_formatting_signatures_and_a_changed_word():
    repost = ("⚡️**Командующий группировкой войск \"Юг\" генерал-полковник Геннадий Анашкин "
              "снят с должности**, сообщают источники в Минобороны. Его обязанности временно "
              "исполняет заместитель. Подписаться: @dva_majors https://t.me/dva_majors")
    assert near_duplicates(shingles(NEWS), shingles(repost))
    other = ("Командующий группировкой войск «Север» генерал-лейтенант Александр Лапин "
             "провёл совещание, сообщают источники в Минобороны. Подробности позже.")
    assert not near_duplicates(shingles(NEWS), shingles(other))


def test_short_generic_texts_and_quotes_inside_round_ups_are_not_one_story():
    assert shingles("⚡️Срочно! Видео с места") == frozenset()
    assert not near_duplicates(shingles("Воздушная тревога в Курской области"),
                               shingles("Воздушная тревога в Курской области"))
    round_up = NEWS + " " + " ".join(f"Событие {i}: в районе {i} отмечены прилёты и пожары."
                                     for i in range(60))
    assert not near_duplicates(shingles(NEWS), shingles(round_up))


def test_related_by_forward_text_and_album_within_the_window():
    index = StoryIndex(timedelta(hours=6))
    original = post(1, 10, NEWS, message=500)
    index.add(original)
    forward = post(2, 20, "", minutes=5, forward=(10, 500))
    assert index.related(forward) == {1: "forward"}
    index.add(forward)
    other_forward = post(3, 30, "", minutes=6, forward=(10, 500))
    assert index.related(other_forward) == {1: "forward", 2: "forward"}
    same_text = post(4, 40, NEWS + " Подписывайтесь!", minutes=30)
    assert index.related(same_text) == {1: "text"}
    same_channel = post(5, 10, NEWS, minutes=40, message=501)
    assert index.related(same_channel) == {}             # a channel repeating itself
    late = post(6, 50, NEWS, minutes=7 * 60)
    assert index.related(late) == {}                     # outside the 6 h window
    caption = post(7, 60, "Фото с места", album=99, message=700)
    index.add(caption)
    assert index.related(post(8, 60, "", album=99, message=701)) == {7: "album"}
    assert index.related(post(9, 60, "Другая подпись", album=99, message=702)) == {}


def test_expire_forgets_posts_older_than_the_window():
    index = StoryIndex(timedelta(hours=6))
    index.add(post(1, 10, NEWS))
    index.add(post(2, 20, NEWS, minutes=60))
    index.expire(T + timedelta(hours=6, minutes=30))
    assert 1 not in index and 2 in index and len(index) == 1
    assert index.related(post(3, 30, NEWS, minutes=90)) == {2: "text"}


def test_story_root_is_the_first_alert_of_the_chat_or_what_it_was_folded_into():
    known = {(7, 1): Alerted(7, 1, "queued", 10),
             (7, 2): Alerted(7, 2, "folded", 11, root=(7, 1)),
             (8, 2): Alerted(8, 2, "queued", 12)}
    assert story_root(7, [2], known).key == (7, 1)
    assert story_root(8, [1, 2], known).key == (8, 2)
    assert story_root(9, [1, 2], known) is None
