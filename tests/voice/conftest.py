import pytest

from app.services.media import MediaLimits


@pytest.fixture
def limits():
    return MediaLimits(timeout_seconds=30)
