"""What an alert says: escaped, bold where the rule matched, trimmed to Telegram's
limit as Telethon counts it after parsing the HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telethon.extensions import html as telethon_html
from telethon.tl import types

from bot.alerts.diff import with_context, word_diff
from bot.alerts.format import (
    STORY_RESERVE,
    AlertView,
    Reason,
    StoryMember,
    excerpt_range,
    format_alert,
    format_delete,
    format_edit,
    human_duration,
    media_note,
    with_story,
)
from bot.alerts.plan import audiences, found_words
from bot.delivery.fit import TEXT_LIMIT, telegram_length
from bot.rules import RuleSet, analyse, compile_rule
from storage.models import Channel, ForwardOrigin, Media, Post, utf16_len

T = datetime(2024, 3, 12, 5, 17, tzinfo=UTC)
LEGION = Channel(1001, "legionoffreedom", "Легион «Свобода России»")


def view(text, spans=(), **kw):
    post = Post(1001, 3103, T, text, media=kw.pop("media", None),
                forward=kw.pop("forward", None))
    return AlertView(post, kw.pop("channel", LEGION),
                     kw.pop("reasons", (Reason(2, "Тёткино OR Tyotkino", "Тёткино"),)),
                     spans, **kw)


def parsed(html_text):
    text, entities = telethon_html.parse(html_text)
    return text, entities


def bold_words(html_text):
    text, entities = parsed(html_text)
    b = text.encode("utf-16-le")
    return [b[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
            for e in entities if isinstance(e, types.MessageEntityBold)]


def matched(rule, text):
    m = compile_rule(rule).match(analyse(text, channel="legionoffreedom", channel_id=1001))
    assert m is not None
    return m


def test_alert_shows_channel_time_text_link_and_rule():
    text = "Бои у Тёткино продолжаются"
    out = format_alert(view(text, matched("Тёткино OR Tyotkino", text).spans),
                       "Europe/Moscow")
    plain, entities = parsed(out)
    assert "Легион «Свобода России» @legionoffreedom" in plain
    assert "12 Mar 2024 08:17 MSK" in plain                 # 05:17 UTC in Moscow
    assert "Бои у Тёткино продолжаются" in plain
    assert "Rule 2 Тёткино OR Tyotkino — Тёткино" in plain
    links = [e.url for e in entities if isinstance(e, types.MessageEntityTextUrl)]
    assert links == ["https://t.me/legionoffreedom/3103"]
    assert "Тёткино" in bold_words(out)
    assert "late" not in plain


def test_hostile_post_text_and_titles_are_escaped_not_parsed():
    text = "<script>alert(1)</script> & <b>not bold</b> Тёткино <a href='x'>y</a>"
    evil = Channel(5, "evil", "<i>Evil</i> & Co")
    out = format_alert(view(text, matched("Тёткино", text).spans, channel=evil), "UTC")
    plain, entities = parsed(out)
    assert text in plain                                     # shown literally
    assert "<i>Evil</i> & Co @evil" in plain
    assert bold_words(out) == ["<i>Evil</i> & Co", "Тёткино"]   # the title, the match
    assert not any(isinstance(e, types.MessageEntityItalic) for e in entities)


def test_a_10000_character_post_is_trimmed_to_fit_with_the_match_still_bold():
    filler = "Колонна техники прошла через село, жители сообщают о взрывах. " * 90
    text = filler + "Бой у Тёткино. " + filler + "🇺🇦" * 50
    assert len(text) > 10_000
    m = matched("Тёткино", text)
    out = format_alert(view(text, m.spans), "UTC")
    plain, _ = parsed(out)
    assert utf16_len(plain) <= TEXT_LIMIT - STORY_RESERVE
    assert "Тёткино" in bold_words(out)
    assert "…Колонна" not in plain and "…" in plain          # cut on a word boundary
    assert plain.count("…") == 2                             # before and after the excerpt
    assert "🔗 t.me/legionoffreedom/3103" in plain            # the link survives the trim


def test_trimming_counts_utf16_units_of_emoji():
    text = "😀" * 5000                                        # 10,000 UTF-16 units
    out = format_alert(view(text), "UTC")
    assert telegram_length(out) <= TEXT_LIMIT - STORY_RESERVE
    plain, _ = parsed(out)
    assert "\ud83d" not in plain                             # no half of a surrogate pair


def test_excerpt_range_cuts_on_words_and_keeps_a_late_match_in_view():
    text = " ".join(f"слово{i}" for i in range(500)) + " Тёткино " + "хвост " * 50
    at = text.index("Тёткино")
    start, end = excerpt_range(text, [(at, at + 7)], 300)
    assert start <= at < at + 7 <= end
    assert text[start - 1] == " " and text[end] == " "
    assert utf16_len(text[start:end]) <= 298


def test_late_label_forward_origin_and_media():
    text = "Видео с места"
    out = format_alert(view(text, late_by=timedelta(hours=2, minutes=5), caught_up=True,
                            media=Media("video", duration=42.0),
                            forward=ForwardOrigin(2002, 17, T, None),
                            forward_from=Channel(2002, "rybar", "Рыбарь")), "UTC")
    plain, _ = parsed(out)
    assert "late by 2 h 5 min (caught up after a gap)" in plain
    assert "↪️ Forwarded from Рыбарь @rybar" in plain
    assert "🎬 video 0:42" in plain
    hidden = format_alert(view(text, forward=ForwardOrigin(name="Скрытый <автор>")), "UTC")
    assert "Forwarded from Скрытый <автор>" in parsed(hidden)[0]


def test_media_and_durations_are_noted_in_words_people_read():
    assert media_note(Media("photo")) == "📷 photo"
    assert media_note(Media("voice", duration=75)) == "🎤 voice message 1:15"
    assert media_note(Media("document", "отчёт.pdf", 1_300_000)) == "📎 file отчёт.pdf (1.2 MB)"
    assert media_note(None) == ""
    assert human_duration(timedelta(seconds=20)) == "<1 min"
    assert human_duration(timedelta(days=1, hours=3)) == "1 d 3 h"


def test_one_alert_names_every_rule_and_the_subscription_and_bolds_all_matches():
    text = "Обстрел Курской области: в Судже и Kursk"
    rules = RuleSet()
    info = {}
    from bot.alerts.plan import RuleInfo
    for rid, (chat, number, rule) in enumerate([(7, 1, "Суджа"), (7, 2, "Курск OR Kursk"),
                                                (8, 1, "Суджа")], start=1):
        rules.add(rid, compile_rule(rule))
        info[rid] = RuleInfo(rid, chat, number, rule)
    found = audiences(rules.match(analyse(text, channel="rybar")), info, subscribed=[7, 9])
    assert [a.chat_id for a in found] == [7, 8, 9]
    seven = found[0]
    assert [r.rule_number for r in seven.reasons] == [1, 2, None]
    assert seven.describe() == "rule 1: Суджа; rule 2: Курск OR Kursk; subscription"
    out = format_alert(view(text, seven.spans, reasons=seven.reasons,
                            channel=Channel(3, "rybar", "Рыбарь")), "UTC")
    assert bold_words(out)[1:] == ["Курской", "Судже", "Kursk"]
    plain, _ = parsed(out)
    assert "Rule 1 Суджа — Судже" in plain and "Subscribed to @rybar" in plain
    assert found[2].reasons[0].rule_number is None and found[2].spans == ()


def test_found_words_list_each_word_once():
    text = "Тёткино, снова Тёткино и Tyotkino"
    assert found_words(matched("Тёткино OR Tyotkino", text)) == "Тёткино, Tyotkino"
    assert found_words(matched("from:legionoffreedom", text)) == "from:legionoffreedom"


def test_story_line_is_appended_within_the_limit():
    text = "Ж" * 5000
    base = format_alert(view(text), "UTC")
    members = [StoryMember(Channel(i, f"channel_{i}_" + "x" * 20, "T"), i, T + timedelta(minutes=i))
               for i in range(12)]
    out = with_story(base, members, "Europe/Kyiv", T)
    plain, entities = parsed(out)
    assert telegram_length(out) <= TEXT_LIMIT
    assert "🔁 Also posted by @channel_0_" in plain and "and 7 more" in plain
    assert "07:17 EET" in plain                              # Kyiv, same day: time only
    assert sum(isinstance(e, types.MessageEntityTextUrl) for e in entities) == 1 + 5


def test_edit_alert_strikes_out_removed_words_and_underlines_new_ones():
    old = "Обстрел Суджи: двое раненых, " + "подробности уточняются. " * 40
    new = "Обстрел Суджи: трое раненых, " + "подробности уточняются. " * 40
    post = Post(1001, 3103, T, new)
    out = format_edit(LEGION, post, word_diff(old, new), None, T + timedelta(minutes=20), "UTC")
    plain, entities = parsed(out)
    raw = plain.encode("utf-16-le")

    def of(kind):
        return [raw[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
                for e in entities if isinstance(e, kind)]

    assert of(types.MessageEntityStrike) == ["двое"]
    assert of(types.MessageEntityUnderline) == ["трое"]
    assert "Edited" in plain and "edited 05:37 UTC" in plain
    assert len(plain) < 600                                  # the unchanged tail is cut
    pieces = with_context(word_diff(old, new))
    assert [p.op for p in pieces][-1] == "cut"


def test_media_change_and_deletion_alerts():
    post = Post(1001, 3103, T, "Текст", media=Media("video", duration=5))
    out = format_edit(LEGION, post, word_diff("Текст", "Текст"), Media("photo"), T, "UTC")
    assert "Media: 📷 photo → 🎬 video 0:05" in parsed(out)[0]
    gone = format_delete(LEGION, Post(1001, 3103, T, "Архив <b>текста</b>"),
                         T + timedelta(hours=1), "UTC")
    plain, entities = parsed(gone)
    assert "Архив <b>текста</b>" in plain and "deleted 06:17 UTC" in plain
    assert any(isinstance(e, types.MessageEntityBlockquote) for e in entities)
    huge = format_delete(LEGION, Post(1001, 3103, T, "слово " * 3000), T, "UTC")
    assert telegram_length(huge) <= TEXT_LIMIT
