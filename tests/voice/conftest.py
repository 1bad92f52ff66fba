import pytest

from app.services.media import MediaLimits
from tests.voice import audio


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def speech_wav(speech_dir):
    return audio.speak(audio.SENTENCE, speech_dir / "speech.wav")


@pytest.fixture(scope="session")
def speech_files(speech_dir, speech_wav):
    """The same sentence in every accepted upload format."""
    return {
        fmt: audio.encode(speech_wav, speech_dir / f"speech-{fmt}.{fmt}", fmt)
        for fmt in audio.FORMATS
    }


@pytest.fixture
def limits():
    return MediaLimits(timeout_seconds=30)
