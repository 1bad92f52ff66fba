"""A stream opened while its process hears nothing from Redis is refused, not left deaf.

Found by the soak (docs/developers/soak.md): after Redis came back, a stream reopened on an
app host whose listener was still reconnecting waited a moment, then opened anyway; what
the other app host published meanwhile never reached it, and its page had no way to know.
"""

import pytest

from tests.conftest import ApiClient, free_port, make_settings


@pytest.fixture
def settings(tmp_path):
    """Redis configured at a port where nothing listens: the listener never subscribes."""
    return make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")


def test_a_stream_is_refused_while_the_process_does_not_listen(app):
    api = ApiClient(app.test_client())
    assert api.register("alice").status_code == 201
    answer = api.get("/api/chat/events")
    assert answer.status_code == 503
    assert answer.get_json()["code"] == "unavailable"
    zh = api.get("/api/chat/events", headers={"Accept-Language": "zh-CN"})
    assert zh.get_json()["error"] == "Redis 不可用，实时事件已暂停；请轮询获取消息"
