"""The /generate body's nesting is counted before parsing, in constant memory: a long
audio_base64 string must not cost memory in proportion to its length (the first
version's regex kept backtracking state per character: ~145 bytes each)."""

import json
import tracemalloc

import pytest

from engine.validate import json_depth_exceeds


@pytest.mark.parametrize("document, deep", [
    ({"a": [1, {"b": [2]}]}, False),  # 4 deep
    ({"a": [1, {"b": [[2]]}]}, True),  # 5 deep
    ({"s": "[[[[[[[[[[ {{{{ \\\" ]]"}, False),  # brackets inside strings do not count
    ({"s": 'quote \" then [[[['}, False),
])
def test_it_counts_only_brackets_outside_strings(document, deep):
    assert json_depth_exceeds(json.dumps(document).encode(), limit=4) is deep


def test_it_finds_deep_nesting_without_recursion():
    assert json_depth_exceeds(b"[" * 100_000 + b"]" * 100_000)
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32)


def test_a_long_string_costs_no_memory():
    body = b'{"audio_base64": "' + b"QUJD" * 1_500_000 + b'", "content": "[[[["}'  # 6 MB
    tracemalloc.start()
    try:
        assert not json_depth_exceeds(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak / 2**20:.1f} MiB for a 6 MB body"
