"""The rule language in a few lines, for the bot's /help (plain text: escape it)."""

RULES_HELP = """\
Rules (for /alert and /test):
курск танк — every word, in any of its forms (Курске, танки)
Курск OR Kursk — either; also written Курск | Суджа
-реклама or NOT реклама — without that word
(Суджа OR Тёткино) бой — parentheses group
"Курская область" — these exact words, in this order
обстрел* — a word beginning so
#сводка — a hashtag
from:rybar — posts of one channel (from:@rybar and from:ID work too)
Тёткино in:comments — comments on the channels' posts instead of posts
/\\d+ БПЛА/ — a regular expression (RE2, case-insensitive)
Latin spellings find Cyrillic words: Tyotkino finds Тёткино, Kharkiv finds Харків.
Russian, Ukrainian and English words match their forms; case and ё/е do not matter.
Disguises do not hide a word: a Latin o in Пoкровск, stress marks (Гра́йворон),
𝐊𝐮𝐫𝐬𝐤 or fullwidth letters, invisible characters inside a word.
NOT binds tighter than AND, AND tighter than OR: a b OR c means (a b) OR c.
Only uppercase OR, AND, NOT are operators."""
