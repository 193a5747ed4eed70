"""Each NavTalk constant is defined once, in navtalk.contract, and the form, the client,
the engine's validator and its TTS all use that one definition."""

import dataclasses

import pytest

from engine import validate
from front.forms import CreateJobForm
from navtalk import contract
from navtalk.client import GenerateRequest


def test_the_contract_has_the_documented_shape():
    assert list(contract.VOICES) == ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                                     "shimmer", "verse"]
    assert {n: (p.low, p.high, p.default) for n, p in contract.NUMBER_PARAMS.items()} == {
        "bbox_shift": (-9, 9, 0), "extra_margin": (0, 50, 10), "left_cheek_width": (50, 150, 90),
        "right_cheek_width": (50, 150, 90)}
    assert sorted(m.number for m in contract.METHODS) == list(range(1, 10))
    assert len({(m.visual, m.audio) for m in contract.METHODS}) == 9


def test_the_client_sends_exactly_the_contracts_fields():
    assert {f.name for f in dataclasses.fields(GenerateRequest)} | {"license"} == set(contract.GENERATE_FIELDS)


@pytest.mark.django_db
def test_the_form_offers_the_contracts_voices_and_ranges(alice):
    form = CreateJobForm(team=alice.teams.get())
    assert [value for value, _ in form.fields["voice"].widget.choices] == list(contract.VOICES)
    for name, param in contract.NUMBER_PARAMS.items():
        attrs = form.fields[name].widget.attrs
        assert (attrs["min"], attrs["max"], form.fields[name].initial) == (param.low, param.high, param.default)
    assert [v for v, _ in form.fields["parsing_mode"].choices] == list(contract.PARSING_MODES)


@pytest.mark.parametrize("name", list(contract.NUMBER_PARAMS))
def test_the_engine_validates_against_the_contracts_ranges(name):
    param = contract.NUMBER_PARAMS[name]
    base = {"character_name": "navtalk.Leo", "content": "Hi", "voice": "nova"}
    check = dict(content_max_chars=100, audio_max_bytes=1000, characters=("navtalk.Leo",))
    for value in (param.low, param.high):
        assert validate.validate_generate({**base, name: value}, **check)[1] == {}
    for value in (param.low - 1, param.high + 1):
        assert name in validate.validate_generate({**base, name: value}, **check)[1]


def test_the_engine_accepts_exactly_the_contracts_voices():
    check = dict(content_max_chars=100, audio_max_bytes=1000, characters=("navtalk.Leo",))
    for voice in contract.VOICES:
        assert validate.validate_generate({"character_name": "navtalk.Leo", "content": "Hi", "voice": voice},
                                          **check)[1] == {}
    assert "voice" in validate.validate_generate({"character_name": "navtalk.Leo", "content": "Hi",
                                                  "voice": "robot"}, **check)[1]


def test_the_engines_tts_speaks_every_contract_voice():
    from engine import tts

    assert set(tts._VOICE_SETTINGS) == set(contract.VOICES)


def test_the_renderer_clamps_to_the_contracts_ranges_and_uses_its_defaults():
    from engine.renderer import RenderParams

    assert {n: getattr(RenderParams(), n) for n in contract.NUMBER_PARAMS} == {
        n: p.default for n, p in contract.NUMBER_PARAMS.items()}
    wild = RenderParams(**{n: p.high + 100 for n, p in contract.NUMBER_PARAMS.items()}).checked()
    assert {n: getattr(wild, n) for n in contract.NUMBER_PARAMS} == {
        n: p.high for n, p in contract.NUMBER_PARAMS.items()}
