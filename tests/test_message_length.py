"""tgmon measures a message as Telegram will (bot/delivery/fit.py) without Telethon:
its text must be exactly what Telethon's HTML parser, which sends the message, makes
of the HTML."""

from __future__ import annotations

import random

from telethon.extensions import html as telethon_html

from bot.delivery.fit import message_text, plain_fallback, telegram_length

SAMPLES = [
    "",
    "plain",
    "  padded text \n",
    "<b>bold</b> and <i>italic</i> &amp; &lt;tags&gt; &quot;q&quot; &#39;a&#39;",
    '📢 <b>Легион</b> <a href="https://t.me/legionoffreedom/1">t.me/legionoffreedom/1</a>',
    '<a href="mailto:desk@example.org">write to us</a> now',
    '<a href="https://example.org">link</a><a>no href</a>',
    "<blockquote expandable>quoted\nlines</blockquote><pre><code class='language-py'>x"
    "</code></pre>",
    "<tg-emoji emoji-id='5368324170671202286'>👍</tg-emoji> 🔥 a📹b",
    "broken <b>nesting <i>here</b> still</i> open <u>tag",
    "an ampersand at the end &am",
    "an ampersand & space",
    "<br/>self closing<br>and void",
    "Тёткино &nbsp; Tyotkino",
]


def test_the_text_is_what_telethons_html_parser_makes_of_it():
    for html in SAMPLES:
        assert message_text(html) == telethon_html.parse(html)[0], html


def test_random_html_reads_as_telethon_reads_it():
    rng = random.Random(11)
    pieces = ["<b>", "</b>", "<i>", "</i>", '<a href="mailto:x@y.z">', "</a>",
              '<a href="https://t.me/x">', "&amp;", "&lt;", "&", " ", "\n", "слово", "🔥",
              "word", "<code>", "</code>", "&#128293;", "<"]
    for _ in range(2000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert message_text(html) == telethon_html.parse(html)[0], html


def test_length_counts_utf16_units_and_the_fallback_fits():
    html = "<b>" + "🔥" * 600 + "</b>"
    assert telegram_length(html) == 1200
    cut = plain_fallback(html, 1024)
    assert telegram_length(cut) <= 1024 and cut.endswith("…")
