"""Sign-in throttling: after 3 failures in 5 minutes (the test app's settings), 429."""

from __future__ import annotations

from tests.api.auth.conftest import AuthApp


def _fail(auth_app: AuthApp, name: str, times: int) -> None:
    for _ in range(times):
        assert auth_app.sign_in(name, "wrong password!").status_code == 401
        auth_app.clock.advance(seconds=1)


def test_after_the_failures_even_the_right_password_waits_for_the_window(
    auth_app: AuthApp,
) -> None:
    auth_app.add_user("li", ("viewer",))
    _fail(auth_app, "li", 3)  # at 0 s, 1 s, 2 s; now 3 s
    refused = auth_app.sign_in("li")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "297"  # the first failure leaves at 300 s
    auth_app.clock.advance(seconds=296)
    assert auth_app.sign_in("li").status_code == 429
    auth_app.clock.advance(seconds=2)
    assert auth_app.sign_in("li").status_code == 200


def test_throttled_attempts_do_not_extend_the_wait(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    _fail(auth_app, "li", 3)
    for _ in range(10):
        assert auth_app.sign_in("li", "still guessing").status_code == 429
        auth_app.clock.advance(seconds=10)
    auth_app.clock.advance(seconds=200)
    assert auth_app.sign_in("li").status_code == 200


def test_a_successful_sign_in_clears_the_users_failures(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    _fail(auth_app, "li", 2)
    assert auth_app.sign_in("li").status_code == 200
    _fail(auth_app, "li", 2)
    assert auth_app.sign_in("li").status_code == 200


def test_one_address_guessing_many_names_is_throttled(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    for index in range(6):  # 6 per address (the test app's setting), 1 per name
        _fail(auth_app, f"guess{index}", 1)
    answer = auth_app.sign_in("li")
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_overlong_user_names_are_wrong_credentials_not_errors(auth_app: AuthApp) -> None:
    for _ in range(4):
        answer = auth_app.sign_in("x" * 5000, "a password")
        assert answer.status_code in (401, 429)
    assert answer.status_code == 429
