"""People search: prefix, case-insensitive, usernames and display names, paged, limited."""

import pytest

from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path, request):
    overrides = getattr(request, "param", {})
    return make_settings(tmp_path, ratelimit_register="100 per minute", **overrides)


@pytest.fixture
def people(api_for):
    me = api_for("me_myself")
    for username, display_name in [
        ("Bob", "Bobby Tables"), ("bobcat", "Cat"), ("alice", "Bob's friend"),
        ("小明", "明明 🐼"), ("xiaohong", "小红"), ("carol", "carol"),
    ]:  # fmt: skip
        other = api_for()
        body = {"username": username, "password": "long enough pw", "display_name": display_name}
        assert other.post("/api/auth/register", body).status_code == 201
    return me


def usernames(response) -> list[str]:
    return [user["username"] for user in response.get_json()["users"]]


def test_prefix_of_username_or_display_name_case_insensitive(people):
    assert usernames(people.get("/api/users/search?q=BO")) == ["alice", "Bob", "bobcat"]
    assert usernames(people.get("/api/users/search?q=bobby")) == ["Bob"]
    assert usernames(people.get("/api/users/search?q=%E5%B0%8F%E6%98%8E")) == ["小明"]  # 小明
    assert people.get("/api/users/search?q=%E5%B0%8F").status_code == 400  # 小: one character
    user = people.get("/api/users/search?q=xi").get_json()["users"][0]
    assert user == {"id": 6, "username": "xiaohong", "display_name": "小红"}
    assert usernames(people.get("/api/users/search?q=me")) == []  # never yourself
    assert usernames(people.get("/api/users/search?q=ob")) == []  # a prefix, not a substring


def test_pages_follow_the_cursor(people):
    first = people.get("/api/users/search?q=bo&limit=2").get_json()
    assert [u["username"] for u in first["users"]] == ["alice", "Bob"]
    assert first["next_after"] == "bob"
    rest = people.get(f"/api/users/search?q=bo&limit=2&after={first['next_after']}").get_json()
    assert [u["username"] for u in rest["users"]] == ["bobcat"] and rest["next_after"] is None


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "query_invalid"), ("?q=b", "query_too_short"), ("?q=%20b%20", "query_too_short"),
     ("?q=" + "x" * 41, "query_invalid"), ("?q=bo&limit=0", "invalid_input"),
     ("?q=bo&limit=51", "invalid_input"), ("?q=bo&limit=x", "invalid_input"),
     ("?q=bo&after=" + "z" * 201, "invalid_input")],
)  # fmt: skip
def test_bad_searches_get_a_clear_error(people, query, code):
    response = people.get(f"/api/users/search{query}")
    assert response.status_code == 400 and response.get_json()["code"] == code
    assert response.get_json()["error"]


def test_search_needs_login(api_for):
    response = api_for().get("/api/users/search?q=bob")
    assert response.status_code == 401 and response.get_json()["code"] == "login_required"


def test_search_error_in_chinese(people):
    response = people.get("/api/users/search?q=b", headers={"Accept-Language": "zh-CN"})
    assert response.get_json() == {"error": "请至少输入 2 个字符再搜索", "code": "query_too_short"}


@pytest.mark.parametrize(
    "settings", [{"ratelimit_search": "3 per minute"}], indirect=True, ids=["3-per-minute"]
)
def test_search_is_rate_limited_per_account(api_for):
    alice, bob = api_for("alice"), api_for("bob")
    answers = [alice.get("/api/users/search?q=bo").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = alice.get("/api/users/search?q=bo")
    assert limited.get_json()["code"] == "rate_limited" and limited.headers["Retry-After"]
    assert bob.get("/api/users/search?q=al").status_code == 200  # another account, own limit
