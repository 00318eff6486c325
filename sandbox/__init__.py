"""An offline stand-in for WeChat's servers on loopback: the API (`SandboxServer`), the message sender
that plays WeChat pushing messages to the bot's webhook (`Sender`), and a chat page for humans.

Nothing here is imported by the bot itself; the bot reaches the sandbox only through configuration
(`wechat.api_base_url`), exactly as it reaches WeChat.
"""

from sandbox.api import SandboxServer
from sandbox.clock import Clock
from sandbox.sender import Reply, Result, Sender

__all__ = ["Clock", "Reply", "Result", "SandboxServer", "Sender"]
