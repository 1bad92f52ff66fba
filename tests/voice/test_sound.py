"""How the transcoded voice sounds and weighs: PESQ-WB against the source, size, container.

The corpus is English and Mandarin speech from espeak-ng, recorded as browsers do
(WebM/Opus and Ogg/Opus); each recording goes through media.to_m4a and media.to_mp3
and is scored against the source WAV. The settings were chosen by these measurements
(docs/developers/voice.md); speed is measured by `make bench`, not asserted here.
"""

import statistics
import struct
import subprocess

import pytest

from app.services.voice import media
from tests.voice import audio

# Issue 12: what a listener of either output hears must score at least this (mean per
# language), and no single recording may fall far below it.
PESQ_FLOOR = 3.6
PESQ_FLOOR_EACH = 3.5
MAX_KB_PER_MINUTE = 400
CONVERT = {"m4a": media.to_m4a, "mp3": media.to_mp3}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return audio.corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def outputs(corpus, tmp_path_factory):
    """{output: [(language, source WAV, transcoded file)]} for the whole corpus."""
    folder = tmp_path_factory.mktemp("outputs")
    limits = media.MediaLimits(timeout_seconds=30)
    made = {}
    for extension, convert in CONVERT.items():
        for language, source, recording in corpus:
            target = folder / f"{recording.stem}-{recording.suffix[1:]}.{extension}"
            convert(recording, target, limits)
            made.setdefault(extension, []).append((language, source, target))
    return made


@pytest.mark.parametrize("language", list(audio.CORPUS))
@pytest.mark.parametrize("extension", list(CONVERT))
def test_pesq_wb_reaches_the_floor(outputs, extension, language):
    scores = [
        audio.pesq_wb(source, target)
        for lang, source, target in outputs[extension]
        if lang == language
    ]
    assert len(scores) == len(audio.CORPUS[language]) * len(audio.RECORDED)
    assert statistics.mean(scores) >= PESQ_FLOOR, scores
    assert min(scores) >= PESQ_FLOOR_EACH, scores


@pytest.mark.parametrize("extension", list(CONVERT))
def test_a_minute_of_speech_weighs_at_most_400_kb(outputs, extension):
    size = sum(target.stat().st_size for _, _, target in outputs[extension])
    seconds = sum(audio.duration(source) for _, source, _ in outputs[extension])
    assert seconds > 60
    assert size / 1000 / (seconds / 60) <= MAX_KB_PER_MINUTE


def top_level_boxes(path) -> list[str]:
    """The MP4 file's top-level box types, in file order."""
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        assert size >= 8, f"bad box size at {offset}"
        offset += size
    return boxes


def test_m4a_is_aac_lc_mono_with_the_index_before_the_audio(outputs):
    _, _, m4a = outputs["m4a"][0]
    stream = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,profile,channels",
         "-of", "csv=p=0", str(m4a)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert stream == ["aac,LC,1"]
    boxes = top_level_boxes(m4a)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_mp3_is_mono_mp3(outputs):
    _, _, mp3 = outputs["mp3"][0]
    stream = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,channels",
         "-of", "csv=p=0", str(mp3)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert stream == ["mp3,1"]
