"""Bot processes for the several-machine tests: `bot.py serve` instances on ports of their own and
`bot.py worker` processes, configured only through BOT_<SECTION>_<KEY> variables, as in production."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

from settings import Settings
from tests import wire
from tests.conftest import ROOT, free_port


def env_of(settings: Settings) -> dict[str, str]:
    """Every scalar or list key that differs from the default, as the environment carries it."""
    env, default = {}, Settings()
    for section in dataclasses.fields(Settings):
        ours, theirs = getattr(settings, section.name), getattr(default, section.name)
        for key in dataclasses.fields(ours):
            value = getattr(ours, key.name)
            if value == getattr(theirs, key.name) or isinstance(value, dict):
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(value)
            env[f"BOT_{section.name.upper()}_{key.name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class BotProcess:
    """`python bot.py ARGS` with the settings in its environment; stopped by its own pid."""

    def __init__(self, settings: Settings, args: list[str], log_path: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        self.env = {**base, **env_of(settings), "PYTHONUNBUFFERED": "1"}
        self.args, self.log_path, self.settings = args, log_path, settings
        self.proc: subprocess.Popen | None = None

    def start(self) -> BotProcess:
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "bot.py", *self.args], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


class Instance(BotProcess):
    """One web instance (`bot.py serve`) on a free port; ready once WeChat's URL check echoes."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = free_port()
        super().__init__(settings, ["serve", "--port", str(self.port)], log_path)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Instance:
        super().start()
        query = urlencode({**wire.signed_query(self.settings.wechat.token), "echostr": "ready"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"instance exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/wechat?{query}", timeout=2).text == "ready":
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"instance did not answer within {timeout:.0f} s:\n{self.log_tail()}")
