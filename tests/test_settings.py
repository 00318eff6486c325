from __future__ import annotations

import subprocess
import sys

import pytest

from settings import ROOT, Settings, SettingsError, load_settings


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_config_loads_with_embedded_defaults():
    settings = load_settings(ROOT / "config.toml", environ={})
    assert settings.store.database_url == "sqlite:///data/bot.db"
    assert settings.store.redis_url == ""


def test_environment_overrides_every_key_with_types(tmp_path):
    path = write(tmp_path, "[store]\nlock_wait = 4.0\n")
    settings = load_settings(path, environ={
        "BOT_STORE_DATABASE_URL": "postgresql://u@127.0.0.1/db",
        "BOT_STORE_LOCK_WAIT": "1.5",
        "BOT_ADMIN_OPENIDS": "o1, o2",
        "BOT_BOT_STRICT_STATES": "true",
        "BOT_WECHAT_TOKEN": "secret",
    })
    assert settings.store.database_url == "postgresql://u@127.0.0.1/db"
    assert settings.store.lock_wait == 1.5
    assert settings.admin.openids == ["o1", "o2"]
    assert settings.bot.strict_states is True
    assert settings.wechat.token == "secret"


def test_bot_config_names_the_file(tmp_path):
    path = write(tmp_path, '[wechat]\nappid = "wxfromfile"\n')
    assert load_settings(environ={"BOT_CONFIG": str(path)}).wechat.appid == "wxfromfile"


@pytest.mark.parametrize("text, env, message", [
    ("[store]\nlock_wait = \"soon\"\n", {}, "store.lock_wait must be float"),
    ("[store]\ndatabse_url = \"x\"\n", {}, "unknown key store.databse_url"),
    ("[nope]\nx = 1\n", {}, "unknown section [nope]"),
    ("[store\n", {}, "config.toml"),
    ("", {"BOT_PUSH_DAILY_CAP": "many"}, "push.daily_cap must be int"),
    ("", {"BOT_STORE_TYPO": "1"}, "unknown key store.typo"),
])
def test_bad_configuration_fails_with_one_line_naming_the_key(tmp_path, text, env, message):
    with pytest.raises(SettingsError) as error:
        load_settings(write(tmp_path, text), environ=env)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("changes, message", [
    ({"wechat": {"token": ""}}, "wechat.token is required"),
    ({"wechat": {"appid": ""}}, "wechat.appid is required"),
    ({"wechat": {"encoding_aes_key": "short"}}, "wechat.encoding_aes_key must be"),
    ({"site": {"secret_key": ""}}, "site.secret_key is required"),
    ({"store": {"database_url": "mysql://x"}}, "store.database_url must start"),
    ({"store": {"redis_url": "localhost:6379"}}, "store.redis_url must start"),
])
def test_check_names_what_is_missing(changes, message):
    good = Settings().replace(wechat={"token": "t", "appid": "wx1"}, site={"secret_key": "k"})
    good.check()
    with pytest.raises(SettingsError, match=message):
        good.replace(**changes).check()


def test_cli_reports_a_bad_key_in_one_line(tmp_path):
    path = write(tmp_path, "[store]\nlock_wait = \"soon\"\n")
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "--config", str(path), "migrate"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: store.lock_wait must be float, got 'soon'"
