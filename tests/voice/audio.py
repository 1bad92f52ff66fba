"""Real speech for tests, made with espeak-ng and ffmpeg, and ways to measure it."""

import subprocess
from pathlib import Path

import numpy as np
from pesq import pesq

SENTENCE = "Hello from Natter. This voice message should play on every phone, iPhones included."
OTHER_SENTENCE = "Completely different words, spoken at another pace, about the weather in spring."

# The PESQ corpus: a few sentences per language, 6-10 s each as espeak-ng says them.
CORPUS = {
    "en": [
        "Hello from Natter. This voice message should play on every phone, iPhones included,"
        " and it should sound just like the recording.",
        "Completely different words, spoken at another pace, about the weather in spring and"
        " the trains that run late on Sundays.",
        "Please call me back when you have a minute; I left the keys with the neighbour, and"
        " the parcel should arrive tomorrow morning.",
    ],
    "cmn": [
        "你好，这是一条语音消息。我们明天上午十点在火车站见面。",
        "今天天气很好，春天的花都开了。下午一起去公园散步吧。",
        "有空给我回个电话。钥匙放在邻居家里，包裹明天送到。",
    ],
}
# As browsers record: Chrome's WebM/Opus, Firefox's Ogg/Opus; 48 kHz mono.
RECORDED = {
    "webm": ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "48k", "-f", "webm"],
    "ogg": ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
}
PESQ_RATE = 16000

# How each accepted upload format is made from the speech WAV.
FORMATS = {
    "webm": ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
    "m4a": ["-c:a", "aac", "-b:a", "64k", "-f", "mp4"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def speak(text: str, target: Path, rate: int = 48000, voice: str = "en") -> Path:
    """Mono 16-bit WAV of the sentence (Chromium's fake microphone takes this too)."""
    spoken = target.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(spoken), text], check=True)
    ffmpeg("-i", str(spoken), "-ac", "1", "-ar", str(rate), "-c:a", "pcm_s16le", str(target))
    spoken.unlink()
    return target


def synthesize(lavfi_source: str, target: Path, *output_args: str) -> Path:
    """A generated signal (ffmpeg's lavfi, e.g. "anoisesrc=d=600:r=16000") as a file."""
    ffmpeg("-f", "lavfi", "-i", lavfi_source, *output_args, str(target))
    return target


def encode(source: Path, target: Path, fmt: str) -> Path:
    ffmpeg("-i", str(source), *FORMATS[fmt], str(target))
    return target


def decode(path: Path, rate: int = 8000) -> np.ndarray:
    """The decoded mono samples as floats in [-1, 1]."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-f",
            "s16le",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768


def duration(path: Path) -> float:
    return len(decode(path)) / 8000


def rms_dbfs(path: Path) -> float:
    samples = decode(path)
    return 20 * np.log10(max(np.sqrt(np.mean(samples**2)), 1e-9))


def envelope(samples: np.ndarray, rate: int = 8000, window_ms: int = 50) -> np.ndarray:
    size = rate * window_ms // 1000
    frames = len(samples) // size
    return np.sqrt((samples[: frames * size].reshape(frames, size) ** 2).mean(axis=1))


def envelope_correlation(recorded: Path, reference: Path) -> float:
    """Best Pearson correlation of loudness envelopes over small time shifts."""
    a, b = envelope(decode(recorded)), envelope(decode(reference))
    best = -1.0
    for shift in range(-20, 21):  # ±1 s: recordings start a little early or late
        x, y = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
        n = min(len(x), len(y))
        if n > 10 and x[:n].std() > 0 and y[:n].std() > 0:
            best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def corpus(folder: Path, per_language: int | None = None) -> list[tuple[str, Path, Path]]:
    """(language, source WAV, recording) for every sentence as every browser records it
    (only the first `per_language` sentences of each language, if given)."""
    items = []
    for language, sentences in CORPUS.items():
        for number, sentence in enumerate(sentences[:per_language]):
            source = folder / f"{language}{number}.wav"
            if not source.exists():
                speak(sentence, source, voice=language)
            for fmt, args in RECORDED.items():
                recording = folder / f"{language}{number}.{fmt}"
                if not recording.exists():
                    ffmpeg("-i", str(source), *args, str(recording))
                items.append((language, source, recording))
    return items


def pesq_wb(source: Path, degraded: Path) -> float:
    """PESQ-WB (ITU-T P.862.2) of a decoded file against its source, both at 16 kHz."""
    reference, decoded = decode(source, PESQ_RATE), decode(degraded, PESQ_RATE)
    length = min(len(reference), len(decoded))
    return float(pesq(PESQ_RATE, reference[:length], decoded[:length], "wb"))
