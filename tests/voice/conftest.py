"""Voice-suite fixtures: every test that builds an app runs on local disk and on S3."""

import pytest

from app import create_app
from app.extensions import db
from app.services import storage
from app.services.voice.media import MediaLimits
from tests.conftest import make_settings


@pytest.fixture
def limits():
    return MediaLimits(timeout_seconds=30)


@pytest.fixture(params=["local", "s3"])
def storage_overrides(request):
    """Settings that put voice files on local disk, or in a fresh bucket of a real RGW."""
    if request.param == "local":
        return {}
    gateway = request.getfixturevalue("rgw")
    return gateway.settings(gateway.new_bucket())


@pytest.fixture
def voice_app(storage_overrides):
    """voice_app(tmp_path, **settings) -> an app with its tables, on this test's backend."""
    made = []

    def make(tmp_path, **overrides):
        app = create_app(make_settings(tmp_path, **{**storage_overrides, **overrides}))
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def files_in(storage_overrides):
    """files_in(tmp_path) -> names of every voice file kept: local folder and bucket."""

    def list_files(tmp_path) -> list[str]:
        settings = make_settings(tmp_path, **storage_overrides)
        local = [p.name for p in (tmp_path / "uploads" / "chat").iterdir()]
        if settings.storage_backend != "s3":
            return sorted(local)
        store = storage.backend(settings)
        listed = store.client.list_objects_v2(Bucket=settings.s3_bucket, Prefix="chat/")
        stored = [item["Key"].removeprefix("chat/") for item in listed.get("Contents", [])]
        return sorted(local + stored)

    return list_files
