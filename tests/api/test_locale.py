# ruff: noqa: RUF001  (the expected texts are Chinese, with Chinese punctuation)
"""Server messages in Chinese when the caller asks for it, English otherwise; the code
lists the viewer names things with."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.locale import language_of, localise, localise_error

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh;q=0.6", "zh-CN"),
        ("fr-FR, zh;q=0.1", "zh-CN"),
        ("zh;q=0, en", "en"),
        ("*", "en"),
        (None, "en"),
    ],
)
def test_the_language_is_the_heaviest_of_chinese_and_english(
    header: str | None, language: str
) -> None:
    assert language_of(header) == language


def test_messages_are_translated_with_their_values_and_nested_errors() -> None:
    job = "imported 12 objects from 2 file(s); tiles rewritten"
    assert localise(job, "zh-CN") == "已从 2 个文件导入 12 个对象，瓦片已重写"
    assert localise(job, "en") == job
    assert localise("writing tiles", "zh-CN") == "正在生成三维瓦片"
    nested = "internal error: no object with id 'w1'"
    assert localise(nested, "zh-CN") == "内部错误：没有编号为 'w1' 的对象"
    assert localise("something new", "zh-CN") == "something new"
    assert localise_error("something new", 404, "zh-CN") == "未找到：something new"
    assert localise_error("something new", 404, "en") == "something new"


def test_error_answers_are_chinese_only_when_asked(client: TestClient) -> None:
    english = client.get("/api/objects/no-such-id")
    chinese = client.get("/api/objects/no-such-id", headers=ZH)
    assert english.status_code == chinese.status_code == 404
    assert english.json()["detail"] == "no object with id 'no-such-id'"
    assert chinese.json()["detail"] == "没有编号为 'no-such-id' 的对象"
    job = client.get("/api/jobs/0123", headers=ZH)
    assert job.status_code == 404 and job.json()["detail"].startswith("没有编号为 '0123' 的任务")


def test_authentication_errors_are_chinese_when_asked(small_city: Path) -> None:
    anonymous = TestClient(create_app(small_city))
    assert anonymous.get("/api/city", headers=ZH).json()["detail"] == "请先登录（或提供 API 密钥）"
    english = anonymous.get("/api/city")
    assert english.status_code == 401 and english.json()["detail"].startswith("sign in first")


def test_code_lists_are_served_to_anyone(small_city: Path) -> None:
    anonymous = TestClient(create_app(small_city))
    props = anonymous.get("/api/codes/ifc_properties")
    assert props.status_code == 200
    assert {"name": "Pset_WallCommon", "zh": "墙通用属性", "en": "Wall, common"} in props.json()[
        "psets"
    ]
    assert anonymous.get("/api/codes/uses").json()["uses"][0]["code"] == "residential"
    assert anonymous.get("/api/codes/classes").json()["ifc"][0]["class"] == "IfcProject"
    assert len(anonymous.get("/api/codes/messages").json()["messages"]) > 20
    missing = anonymous.get("/api/codes/secrets", headers=ZH)
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("未找到：no code list")
