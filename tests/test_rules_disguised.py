"""Rules see through disguised text (issue 16): invisible characters inside words, stress
marks and accents on Cyrillic letters, compatibility forms (mathematical, fullwidth,
ligatures, superscripts) and look-alike letters of another script; the spans they report
are those of the text as written."""

from __future__ import annotations

import pytest

from bot.alerts.format import bold_text
from bot.alerts.stories import near_duplicates, shingles
from bot.rules import RuleSet, analyse, compile_rule
from storage.export import fts_query
from storage.normalise import needs_normalising, normalise, normalise_mapped, search_text

LAT_O, LAT_E, LAT_A, LAT_C, LAT_P = "o", "e", "a", "c", "p"
SHY, ZWSP, ZWNJ, ZWJ, WJ, BOM = "\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"
ACUTE, BREVE, DIAERESIS = "\u0301", "\u0306", "\u0308"

# (rule, post text, what the alert bolds: the word exactly as written)
WAYS = [
    # look-alike letters of another script inside a word
    ("Покровск", f"Бои под П{LAT_O}кровском", f"П{LAT_O}кровском"),
    ("Покровск", f"ПОКР{'O'}ВСК", "ПОКРOВСК"),                       # a Latin capital O
    ("Шебекино", f"Ш{LAT_E}б{LAT_E}кин{LAT_O} обстреляли", f"Ш{LAT_E}б{LAT_E}кин{LAT_O}"),
    ("Суджа", f"наступление на Судж{LAT_A}", f"Судж{LAT_A}"),
    ("Курск", f"в {LAT_C}{LAT_P}едней части Курской", "Курской"),     # other words intact
    ("Kyiv", "Ракетный удар по Kуiv", "Kуiv"),                       # a Cyrillic у in Latin
    ("Київ", "Удар по Киïв", "Киïв"),                                # a Latin ï: ї kept
    # invisible characters inside words
    ("Шебекино", f"Обстрел Шебе{SHY}кино", f"Шебе{SHY}кино"),
    ("Шебекино", f"Обстрел Шеб{ZWSP}екино", f"Шеб{ZWSP}екино"),
    ("Шебекино", f"Обстрел Ше{ZWNJ}бе{ZWJ}кино", f"Ше{ZWNJ}бе{ZWJ}кино"),
    ("Шебекино", f"Обстрел Шебе{WJ}кин{BOM}о", f"Шебе{WJ}кин{BOM}о"),
    # stress marks and accents on Cyrillic letters
    ("Грайворон", f"Гра{ACUTE}йворон под обстрелом", f"Гра{ACUTE}йворон"),
    ("Грайворон", f"в Грайворо{ACUTE}не", f"Грайворо{ACUTE}не"),
    ("Покровск", "Бои под Покрóвском", "Покрóвском"),                # a Latin ó typed as stress
    ("Тёткино", f"Бои у Те{DIAERESIS}ткине", f"Те{DIAERESIS}ткине"),  # ё decomposed
    ("Грайворон", f"Граи{BREVE}ворон", f"Граи{BREVE}ворон"),          # й decomposed
    # compatibility forms
    ("Kursk", "Атака на 𝐊𝐮𝐫𝐬𝐤", "𝐊𝐮𝐫𝐬𝐤"),                              # mathematical bold
    ("Kursk", "Атака на 𝘒𝘶𝘳𝘴𝘬", "𝘒𝘶𝘳𝘴𝘬"),                              # mathematical italic
    ("Kursk", "Атака на Ｋｕｒｓｋ", "Ｋｕｒｓｋ"),                         # fullwidth
    ("Belgorod", "Drones over 𝐁𝐞𝐥𝐠𝐨𝐫𝐨𝐝 again", "𝐁𝐞𝐥𝐠𝐨𝐫𝐨𝐝"),
    ("fire", "A huge ﬁre at the depot", "ﬁre"),                     # a ligature
    ("км2", "площадью 40 км²", "км²"),                                # a superscript
]


def bold(rule: str, text: str) -> list[str]:
    m = compile_rule(rule).match(analyse(text))
    assert m is not None, f"{rule!r} does not match {text!r}"
    return [text[s:e] for s, e in m.spans]


@pytest.mark.parametrize(("rule", "text", "word"), WAYS)
def test_each_disguise_is_seen_through_and_the_written_word_is_bolded(rule, text, word):
    assert bold(rule, text) == [word]


@pytest.mark.parametrize(("rule", "text", "word"), WAYS)
def test_a_ruleset_matches_them_too(rule, text, word):
    rules = RuleSet()
    rules.add("other", compile_rule("Белгород"))
    rules.add("it", compile_rule(rule))
    [(rule_id, m)] = rules.match(analyse(text))
    assert rule_id == "it"
    assert [text[s:e] for s, e in m.spans] == [word]


def test_alerts_bold_the_characters_written():
    text = f"⚡️ Атака на 𝐊𝐮𝐫𝐬𝐤 и Шебе{SHY}кино"
    m = compile_rule("Kursk OR Шебекино").match(analyse(text))
    assert m is not None
    assert bold_text(text, m.spans) == f"⚡️ Атака на <b>𝐊𝐮𝐫𝐬𝐤</b> и <b>Шебе{SHY}кино</b>"
    assert m.reason == f"Kursk (𝐊𝐮𝐫𝐬𝐤); Шебекино (Шебе{SHY}кино)"


def test_words_wholly_in_one_script_stay_as_they_are():
    assert analyse("Kursk cross").forms == ("kursk", "cross")
    assert bold("Kursk", "Бои у Курской области") == ["Курской"]   # romanization intact
    assert compile_rule("Курск").match(analyse("Kursk")) is None    # not made Cyrillic
    assert bold("cross", "they crossed the border") == ["crossed"]
    assert compile_rule("сrоss").match(analyse("crossed")) is not None  # a rule word too
    assert normalise("Kursk и Курск") == "Kursk и Курск"


def test_a_mixed_word_is_read_in_the_script_of_most_of_its_letters():
    assert normalise("Kурск") == "Курск"                  # one Latin letter of five
    assert normalise("Kуiv") == "Kyiv"                    # one Cyrillic letter of four
    assert normalise("м'ясo") == "м'ясо"                  # an apostrophe is inside a word
    assert normalise("ТикTok") == "ТикТок"                # a tie reads Cyrillic
    assert normalise("ПВО-шник iPhone") == "ПВО-шник iPhone"
    assert normalise("Киïв") == "Київ"                    # ï becomes ї, not і


def test_letters_made_with_a_mark_stay_and_accents_go():
    assert normalise(f"и{BREVE}од") == "йод"
    assert normalise(f"е{DIAERESIS}ж") == "ёж"
    assert normalise(f"Е{DIAERESIS}ЛКА") == "ЁЛКА"
    assert normalise(f"Ки{'ї'}в у{BREVE}") == "Київ ў"
    assert normalise(f"за{ACUTE}мок замо{ACUTE}к ѐ") == "замок замок е"
    assert normalise("Tëtkino Žytomyr café") == "Tëtkino Žytomyr café"   # Latin keeps them
    assert compile_rule('"мой"').match(analyse(f"мои{BREVE} дом")) is not None
    assert compile_rule('"мой"').match(analyse("мои дом")) is None


def test_symbols_and_emoji_stay():
    for text in ("Указ № 5", "Brand™ …", "ℹ️ Сводка", "👨‍💻 IT-армия", "🏳️‍🌈", "x\u00a0y"):
        assert normalise(text) == text
    assert normalise("1️⃣ Курск") == "1 Курск"        # a keycap is its digit
    assert compile_rule("no").match(analyse("Указ № 5")) is None
    assert compile_rule("Курск").match(analyse("1️⃣ Курск")) is not None


def test_plain_text_skips_the_work():
    for text in ("Бои у Тёткино продолжаются ⚡️🔥", "Plain English", "Київ, м'ясо, ґанок",
                 "Указ № 5 от 12.03 — «Курск»", "👨‍💻 IT-армия"):
        assert not needs_normalising(text)
        normalised, offsets = normalise_mapped(text)
        assert normalised is text and offsets is None
        assert analyse(text).offsets is None


def test_offsets_lead_every_character_back_to_what_it_was_written_as():
    text = f"ﬁ 𝐊{SHY}x Гра{ACUTE}й"
    normalised, offsets = normalise_mapped(text)
    assert normalised == "fi Kx Грай"
    assert offsets is not None
    back = [text[slice(*offsets.span(i, i + 1))] for i in range(len(normalised))]
    assert back == ["ﬁ", "ﬁ", " ", f"𝐊{SHY}", "x", " ", "Г", "р", f"а{ACUTE}", "й"]
    assert offsets.span(len(normalised), len(normalised)) == (len(text), len(text))


def test_regexes_match_the_text_as_written_or_as_normalised():
    assert bold("/покровск\\pL*/", f"Бои под П{LAT_O}кровском") == [f"П{LAT_O}кровском"]
    assert bold("/[a-z][а-я]/", f"Бои под П{LAT_O}кровском") == [f"{LAT_O}к"]  # the disguise
    rules = RuleSet()
    rules.add(1, compile_rule("/шебекино/"))
    [(_, m)] = rules.match(analyse(f"Обстрел Шебе{SHY}кино"))
    assert m.spans == ((8, 17),)


def test_phrases_prefixes_and_hashtags_see_through_too():
    text = f"#Шебе{SHY}кино: обстрел Курск{LAT_O}й области и Гра{ACUTE}йворона"
    assert bold('"курской области"', text) == [f"Курск{LAT_O}й области"]
    assert bold("грайворон*", text) == [f"Гра{ACUTE}йворона"]
    assert bold("#шебекино", text) == [f"#Шебе{SHY}кино"]


def test_rules_written_with_a_disguise_read_the_same():
    assert bold(f"П{LAT_O}кровск", "Бои под Покровском") == ["Покровском"]
    assert bold(f"Гра{ACUTE}йворон", "в Грайвороне") == ["Грайвороне"]
    assert bold("𝐊𝐮𝐫𝐬𝐤", "Ситуация в Курске") == ["Курске"]
    assert bold(f"Шебе{SHY}кин*", "Шебекинский район") == ["Шебекинский"]


def test_search_reads_queries_and_texts_as_rules_do():
    assert search_text(f"Тёткино П{LAT_O}кровск 𝐊𝐮𝐫𝐬𝐤") == "Теткино Покровск Kursk"
    assert fts_query(f"П{LAT_O}кровск Гра{ACUTE}йв*") == '"Покровск" "Грайв" *'


def test_reposts_in_disguise_are_the_same_story():
    plain = ("Губернатор сообщил, что в результате атаки беспилотников на Шебекино "
             "пострадали два человека, повреждены жилые дома и линии электропередачи")
    disguised = (plain.replace("Шебекино", f"Шебе{SHY}кино").replace("о", LAT_O, 3)
                 .replace("беспилотников", f"беспило{ACUTE}тников"))
    assert shingles(disguised) == shingles(plain)
    assert near_duplicates(shingles(disguised), shingles(plain))


def test_the_help_examples_hold():
    from bot.rules.help import RULES_HELP

    for disguised, rule in ((f"П{LAT_O}кровск", "Покровск"), ("Гра́йворон", "Грайворон"),
                            ("𝐊𝐮𝐫𝐬𝐤", "Kursk")):
        assert disguised in RULES_HELP
        assert compile_rule(rule).match(analyse(disguised)) is not None
