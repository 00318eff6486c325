"""WeChat Pay API v3 for one merchant, split by what WeChat Pay does:

| module | what |
|---|---|
| `orders.py` | JSAPI 下单, 查询订单, 关闭订单, and the payer (`pay`, the JS bridge's `confirm_bridge`) |
| `refunds.py` | 申请退款 and 查询单笔退款; PROCESSING turns SUCCESS after the refund delay |
| `notifications.py` | TRANSACTION.SUCCESS / REFUND.SUCCESS on WeChat Pay's retry schedule, with switches |
| `schedulers.py` | when deliveries run: real threads (time compressed) or virtual time tests advance |
| `keys.py` | the merchant's key pair, WeChat Pay's public key and platform certificate, RSA and AES-GCM |
| `merchant.py` | `Merchant`: checks each request's signature, routes it, signs every answer; test hooks |
| `endpoints.py` | the adapter to the sandbox's HTTP server (sandbox/api.py) and the JS bridge's script |
| `errors.py`, `formats.py` | error answers and field checks; JSON, +08:00 times, numeric ids |

    keys = merchant_keys(folder, mchid)                  # the merchant's API key pair and certificate
    platform = server.enable_pay(mchid, apiv3_key, keys.public_key_pem(), bot_url + "/pay/notify",
                                 merchant_serial_no=keys.serial_no, scheduler=ManualScheduler())
    # the bot: pay.gateway_url = server.url, public_key_path = platform.public_key_path, ...
    server.pay(out_trade_no, openid)                     # the payer pays: SUCCESS + notification
    server.payments.scheduler.advance(15)                # (ManualScheduler) time passes: retries go out
    server.payments.notifier.deliveries(out_trade_no)    # every attempt and the bot's answer

Sources: pay.weixin.qq.com API v3 docs (JSAPI 下单, 查询订单, 关闭订单, 申请退款, 查询单笔退款, 支付通知,
退款结果通知, 签名/验签, 微信支付公钥, 平台证书, JSAPI 调起支付); see sandbox/README.md.
"""

from sandbox.pay.endpoints import HeaderAnswer, jsbridge_script, prefix_routes, routes, sandbox_openid
from sandbox.pay.errors import PayApiError, PaymentRejected
from sandbox.pay.keys import MerchantKeys, Platform, PlatformKeys, merchant_keys
from sandbox.pay.merchant import Merchant
from sandbox.pay.notifications import Delivery, Notifier
from sandbox.pay.schedulers import ManualScheduler, Scheduler, ThreadScheduler

__all__ = [
    "Delivery", "HeaderAnswer", "ManualScheduler", "Merchant", "MerchantKeys", "Notifier", "PayApiError",
    "PaymentRejected", "Platform", "PlatformKeys", "Scheduler", "ThreadScheduler", "jsbridge_script",
    "merchant_keys", "prefix_routes", "routes", "sandbox_openid",
]
