"""Settings are read once, from .env and the environment, and errors name the variable."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from config.channels import ChannelsFileError, default_channels_file, load_channels
from config.settings import SPECS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_any_environment(tmp_path):
    s = load_settings({}, env_file=tmp_path / "none")
    assert s.db_path == Path("data/tgmon.db")
    assert s.api_id is None and s.access == "allowlist"
    assert s.digest_time == time(8, 0) and s.initial_window == timedelta(hours=24)


def test_environment_wins_over_dotenv(tmp_path):
    env = tmp_path / ".env"
    env.write_text("TGMON_DB=from_dotenv.db\nTGMON_API_ID=1\nTGMON_ADMINS=5, 6\n")
    s = load_settings({"TGMON_DB": "from_env.db"}, env_file=env)
    assert s.db_path == Path("from_env.db")
    assert s.api_id == 1 and s.admins == frozenset({5, 6})


def test_cli_override_wins(tmp_path):
    s = load_settings({"TGMON_DB": "a.db"}, env_file=None, overrides={"db_path": Path("b.db")})
    assert s.db_path == Path("b.db")


@pytest.mark.parametrize(("var", "value", "needle"), [
    ("TGMON_API_ID", "abc", "TGMON_API_ID: expected a whole number"),
    ("TGMON_ACCESS", "everyone", "TGMON_ACCESS: expected one of open, allowlist, admins"),
    ("TGMON_TIMEZONE", "Mars/Base", "unknown time zone"),
    ("TGMON_DIGEST_TIME", "8am", "HH:MM"),
    ("TGMON_RECONCILE_INTERVAL", "soon", "not a duration"),
])
def test_bad_values_name_the_variable(var, value, needle):
    with pytest.raises(SettingsError, match=needle):
        load_settings({var: value}, env_file=None)


def test_secrets_are_not_in_repr():
    s = load_settings({"TGMON_API_HASH": "deadbeefcafe", "TGMON_BOT_TOKEN": "123:SECRET"},
                      env_file=None)
    assert "deadbeefcafe" not in repr(s) and "SECRET" not in repr(s)


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [s.env for s in SPECS if s.env not in text]
    assert missing == []


def test_default_channel_list():
    names = [c.username for c in load_channels(default_channels_file())]
    assert names == ["legionoffreedom", "russvolcorps", "gubernator_46", "vvgladkov", "rybar",
                     "dva_majors", "wargonzo"]


@pytest.mark.parametrize(("content", "needle"), [
    ('[[channel]]\nusername = "rybar"\nlabel = "x"\n[[channel]]\nlabel = "y"\n',
     "line 4: [[channel]] needs username"),
    ('[[channel]]\nusername = "rybar"\nlabel = \n', "invalid TOML"),
    ('[[channel]]\nusername = "a b"\nlabel = "x"\n', "line 1: 'a b' is not a Telegram username"),
    ('[[channel]]\nusername = "rybar"\nlabel = "x"\n\n[[channel]]\nusername = "@Rybar"\n'
     'label = "y"\n', "line 5: channel 'rybar' is already listed at line 1"),
    ('[[channel]]\nusername = "rybar"\nlabel = "x"\ncolour = "red"\n', "unknown key 'colour'"),
])
def test_invalid_channels_file_names_the_line(tmp_path, content, needle):
    path = tmp_path / "channels.toml"
    path.write_text(content)
    with pytest.raises(ChannelsFileError) as e:
        load_channels(path)
    assert needle in str(e.value)
