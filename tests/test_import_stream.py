"""The streaming JSON reader: values split across chunks, tdesktop escapes, bad files."""

from __future__ import annotations

import io
import json

import pytest

from storage.imports.jsonstream import JsonStream, JsonStreamError
from tests.exportkit import DESKTOP, OWN, shared


def stream(text: str | bytes, chunk: int = 3) -> JsonStream:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return JsonStream(io.BytesIO(data), chunk_bytes=chunk)


def read_all(js: JsonStream):
    """Rebuild a document with the streaming walk (objects and arrays by hand)."""
    first = js.peek()
    if first == "{":
        return {key: read_all(js) for key in js.object_keys()}
    if first == "[":
        return [read_all(js) for _ in js.array_items()]
    return js.value()


@pytest.mark.parametrize("which", ["own", "real"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_fixtures_read_the_same_as_json_load_at_any_chunk_size(chunk, which):
    folder = OWN if which == "own" else shared(DESKTOP)
    paths = sorted(folder.glob("*.json"))
    assert paths
    for path in paths:
        raw = path.read_bytes()
        js = stream(raw, chunk)
        assert read_all(js) == json.loads(raw)
        js.end()


def test_numbers_split_across_chunks_are_whole():
    js = stream('[12345678901234, -1.5e3, 7]', chunk=2)
    assert read_all(js) == [12345678901234, -1500.0, 7]


def test_multibyte_characters_split_across_chunks():
    text = json.dumps({"t": "Тёткино 🔥 ё"}, ensure_ascii=False)
    assert read_all(stream(text, chunk=1)) == {"t": "Тёткино 🔥 ё"}


def test_byte_order_mark_is_ignored():
    assert read_all(stream(b"\xef\xbb\xbf{\"a\": 1}")) == {"a": 1}


def test_tdesktop_hex_escapes_of_control_characters_are_accepted():
    # Telegram Desktop writes a vertical tab as \x0B, which strict JSON forbids.
    doc = '{"text": "a\\x0Bb", "ok": "c\\\\x41"}'
    for chunk in (1, 4, 100):
        assert read_all(stream(doc, chunk)) == {"text": "a\x0bb", "ok": "c\\x41"}


def test_skip_walks_without_decoding_whole_lists():
    js = stream('{"skip": {"list": [{"a": [1, 2]}, {"b": "}"}]}, "keep": [1, {"x": "]"}]}')
    keys = js.object_keys()
    assert next(keys) == "skip"
    js.skip()
    assert next(keys) == "keep"
    assert js.value() == [1, {"x": "]"}]
    assert list(keys) == []


@pytest.mark.parametrize("text", [
    '{"messages": [{"id": 1}, {"id": 2',
    '{"messages": [{"id": 1}, {"id": 2, "text": "обрыв',
    '{"messages": [{"id": 1}',
    '{"messages": [{"id": 1},',
    '{"messages"',
    '{"a": tru',
])
def test_truncated_documents_are_reported_as_truncated(text):
    with pytest.raises(JsonStreamError) as info:
        read_all(stream(text, chunk=4))
    assert info.value.truncated


@pytest.mark.parametrize(("text", "detail"), [
    ('{"a": 1 "b": 2}', "expected ',' or '}'"),
    ('{"a": [1 2]}', "expected ',' or ']'"),
    ('{"a": nope}', "Expecting value"),
    ('{"a": "x\\qy"}', "Invalid \\\\escape"),
    ("{a: 1}", "expected a key"),
])
def test_invalid_documents_name_the_problem_and_line(text, detail):
    with pytest.raises(JsonStreamError, match=detail) as info:
        read_all(stream(text, chunk=1000))
    assert not info.value.truncated
    assert info.value.line == 1


def test_line_numbers_count_from_the_start_of_the_file():
    text = '{\n "a": 1,\n "b": [\n  1,\n  2\n  3\n ]\n}'
    with pytest.raises(JsonStreamError) as info:
        read_all(stream(text, chunk=2))
    assert info.value.line == 6


def test_trailing_garbage_after_the_document():
    js = stream('{"a": 1} {"b": 2}')
    read_all(js)
    with pytest.raises(JsonStreamError, match="after the end"):
        js.end()


def test_invalid_utf8_is_not_text():
    with pytest.raises(JsonStreamError, match="not UTF-8"):
        read_all(stream(b'{"a": "\xff\xfe"}'))
