"""The only code that talks to WeChat's servers: messaging (gateways/wechat.py, over wechatpy)."""
