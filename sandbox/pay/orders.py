"""Orders and queries: JSAPI 下单, 查询订单 (by out_trade_no or transaction_id), 关闭订单, and the payer
who pays an order (directly, or through the JS bridge's getBrandWCPayRequest)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.clock import Clock
from sandbox.pay.errors import PayApiError, PaymentRejected, missing, param_error, parse_time, required_str
from sandbox.pay.formats import CST, numbers, rfc3339
from sandbox.pay.keys import rsa_verify
from sandbox.pay.notifications import Notifier

PREPAY_TTL = 7200  # a prepay_id is valid for 2 hours
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*]{6,32}")  # 6-32 characters: digits, letters, _-*
OPENID = re.compile(r"[0-9A-Za-z_\-]{1,128}")

STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "订单发生过退款"}



@dataclass
class Order:
    request: dict[str, Any]  # the JSAPI body as received: a repeat must be identical
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    total: int
    currency: str
    payer_openid: str
    notify_url: str
    attach: str | None
    time_expire: float | None
    created_at: float
    prepay_id: str
    prepay_expires_at: float
    state: str = "NOTPAY"  # NOTPAY -> SUCCESS -> REFUND; NOTPAY -> CLOSED
    transaction_id: str | None = None
    success_time: float | None = None
    refunded: int = 0  # fen refunded or being refunded

    def transaction(self) -> dict[str, Any]:
        """The order as the query API and the TRANSACTION notification show it."""
        data: dict[str, Any] = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": self.out_trade_no,
            "trade_state": self.state, "trade_state_desc": STATE_DESC[self.state],
            "amount": {"total": self.total, "currency": self.currency},
        }
        if self.state in ("SUCCESS", "REFUND"):
            assert self.success_time is not None
            data.update({
                "transaction_id": self.transaction_id, "trade_type": "JSAPI", "bank_type": "OTHERS",
                "success_time": rfc3339(self.success_time), "payer": {"openid": self.payer_openid},
                "amount": {"total": self.total, "payer_total": self.total, "currency": self.currency,
                           "payer_currency": self.currency},
                "promotion_detail": [],
            })
            if self.attach is not None:
                data["attach"] = self.attach
        return data


def new_prepay_id(now: float) -> str:
    return "wx" + dt.datetime.fromtimestamp(now, CST).strftime("%d%H%M%S") + secrets.token_hex(13)


class OrderDesk:
    """The order half of `Merchant` (sandbox/pay/merchant.py), which owns the state named here."""

    mchid: str
    appid: str
    clock: Clock
    notifier: Notifier
    merchant_public_key: rsa.RSAPublicKey
    orders: dict[str, Order]
    bridge_calls: list[dict[str, Any]]
    bridge_action: str | None
    _by_prepay: dict[str, str]
    _lock: threading.RLock

    def create_jsapi(self, data: dict[str, Any]) -> dict[str, str]:
        """POST /v3/pay/transactions/jsapi: the same out_trade_no with the same body answers the same
        prepay_id; with another body 400 INVALID_REQUEST "201 商户订单号重复"."""
        order = self._validate_order(data)
        with self._lock:
            existing = self.orders.get(order.out_trade_no)
            if existing is not None:
                if existing.request != data:
                    raise PayApiError(400, "INVALID_REQUEST", "201 商户订单号重复")
                if existing.state in ("SUCCESS", "REFUND"):
                    raise PayApiError(400, "ORDERPAID", "该订单已支付")
                if existing.state == "CLOSED":
                    raise PayApiError(400, "ORDER_CLOSED", "订单已关闭")
                if self.clock.now() >= existing.prepay_expires_at:  # a fresh prepay_id for the same order
                    del self._by_prepay[existing.prepay_id]
                    existing.prepay_id = new_prepay_id(self.clock.now())
                    existing.prepay_expires_at = self.clock.now() + PREPAY_TTL
                    self._by_prepay[existing.prepay_id] = existing.out_trade_no
                return {"prepay_id": existing.prepay_id}
            self.orders[order.out_trade_no] = order
            self._by_prepay[order.prepay_id] = order.out_trade_no
            return {"prepay_id": order.prepay_id}

    def _validate_order(self, data: dict[str, Any]) -> Order:
        appid = required_str(data, "appid", "公众号ID", 32)
        mchid = required_str(data, "mchid", "直连商户号", 32)
        description = required_str(data, "description", "商品描述", 127)
        out_trade_no = required_str(data, "out_trade_no", "商户订单号", 32)
        notify_url = required_str(data, "notify_url", "通知地址", 255)
        if mchid != self.mchid:
            raise param_error("http header中的mchid与post payload中的mchid不匹配")
        if appid != self.appid:
            raise PayApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not OUT_TRADE_NO.fullmatch(out_trade_no):
            raise param_error("商户订单号out_trade_no应为6-32位数字、大小写字母、_-*")
        if not re.fullmatch(r"https?://[^\s?#]+", notify_url):
            raise param_error("通知地址notify_url格式错误，不能携带参数")
        amount = data.get("amount")
        if not isinstance(amount, dict) or "total" not in amount:
            raise missing("/body/amount/total", "总金额")
        total = amount["total"]
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise param_error("订单金额amount.total必须为大于0的整数（单位：分）")
        currency = amount.get("currency", "CNY")
        if currency != "CNY":
            raise param_error("不支持的货币类型，境内商户号仅支持人民币CNY")
        payer = data.get("payer")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        if not isinstance(openid, str) or not openid:
            raise missing("/body/payer/openid", "用户标识")
        if not OPENID.fullmatch(openid):
            raise param_error("用户标识payer.openid格式错误")
        attach = data.get("attach")
        if attach is not None and (not isinstance(attach, str) or len(attach) > 128):
            raise param_error("附加数据attach长度不能超过128")
        time_expire = None
        if data.get("time_expire") is not None:
            time_expire = parse_time(data["time_expire"], "time_expire")
        now = self.clock.now()
        return Order(dict(data), out_trade_no, appid, mchid, description, total, currency, openid, notify_url,
                     attach, time_expire, now, new_prepay_id(now), now + PREPAY_TTL)

    def query_order(self, out_trade_no: str, mchid: str | None) -> dict[str, Any]:
        """GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=: 404 ORDER_NOT_EXIST when unknown."""
        self._check_query_mchid(mchid)
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            return order.transaction()

    def query_transaction(self, transaction_id: str, mchid: str | None) -> dict[str, Any]:
        """GET /v3/pay/transactions/id/{transaction_id}?mchid=."""
        self._check_query_mchid(mchid)
        with self._lock:
            for order in self.orders.values():
                if order.transaction_id == transaction_id:
                    return order.transaction()
        raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")

    def _check_query_mchid(self, mchid: str | None) -> None:
        if not mchid:
            raise missing("/query/mchid", "直连商户号")
        if mchid != self.mchid:
            raise param_error("mchid与请求头Authorization中的商户号不匹配")

    def close_order(self, out_trade_no: str, data: dict[str, Any]) -> None:
        """POST .../{out_trade_no}/close {mchid}: 204; paid -> 400 ORDERPAID; closing twice is fine."""
        mchid = required_str(data, "mchid", "直连商户号", 32)
        if mchid != self.mchid:
            raise param_error("http header中的mchid与post payload中的mchid不匹配")
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.state in ("SUCCESS", "REFUND"):
                raise PayApiError(400, "ORDERPAID", "订单已支付")
            order.state = "CLOSED"

    # ------------------------------------------------------------ the payer

    def pay(self, out_trade_no: str, payer_openid: str) -> dict[str, Any]:
        """The payer completes the payment: the order turns SUCCESS and TRANSACTION.SUCCESS goes out.
        Returns the transaction; raises PaymentRejected when this payer cannot pay this order."""
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PaymentRejected("订单不存在")
            if order.state in ("SUCCESS", "REFUND"):
                raise PaymentRejected("该订单已支付")
            if order.state == "CLOSED":
                raise PaymentRejected("订单已关闭")
            now = self.clock.now()
            if order.time_expire is not None and now > order.time_expire:
                raise PaymentRejected("订单已过支付截止时间")
            if payer_openid != order.payer_openid:
                raise PaymentRejected("支付用户与下单用户不一致")
            order.state = "SUCCESS"
            order.transaction_id = numbers("4200", 28)
            order.success_time = now
            resource = order.transaction()
        self.notifier.send("TRANSACTION.SUCCESS", "支付成功", "transaction", resource, order.notify_url, out_trade_no)
        return resource

    def confirm_bridge(self, params: Any, openid: str | None = None, action: str = "pay") -> dict[str, str]:
        """What WeChat's cashier does with getBrandWCPayRequest: check appId, the prepay_id and paySign
        (SHA256withRSA over "appId\\ntimeStamp\\nnonceStr\\npackage\\n" with the merchant's key), then the
        payer pays ("pay"), closes the cashier ("cancel") or the payment fails ("fail")."""
        action = self.bridge_action or action
        try:
            order = self._check_pay_params(params)
            if openid and openid != order.payer_openid:
                raise PaymentRejected("支付用户与下单用户不一致")
            if action == "cancel":
                result = {"err_msg": "get_brand_wcpay_request:cancel"}
            elif action == "fail":
                result = {"err_msg": "get_brand_wcpay_request:fail", "err_desc": "支付失败（沙箱）"}
            else:
                self.pay(order.out_trade_no, openid or order.payer_openid)
                result = {"err_msg": "get_brand_wcpay_request:ok"}
        except PaymentRejected as rejected:
            result = {"err_msg": "get_brand_wcpay_request:fail", "err_desc": rejected.reason}
        with self._lock:
            self.bridge_calls.append({"params": params, "openid": openid, "action": action, "result": result})
        return result

    def _check_pay_params(self, params: Any) -> Order:
        if not isinstance(params, dict):
            raise PaymentRejected("缺少支付参数")
        for name in ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign"):
            if not isinstance(params.get(name), str) or not params[name]:
                raise PaymentRejected(f"缺少参数{name}")
        if params["appId"] != self.appid:
            raise PaymentRejected("appId与商户号不匹配")
        if params["signType"] != "RSA":
            raise PaymentRejected("signType应为RSA")
        if not params["timeStamp"].isdigit():
            raise PaymentRejected("timeStamp格式错误")
        message = "".join(f"{params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package")).encode()
        if not rsa_verify(self.merchant_public_key, message, params["paySign"]):
            raise PaymentRejected("支付验证签名失败")
        prepay_id = params["package"].removeprefix("prepay_id=")
        with self._lock:
            out_trade_no = self._by_prepay.get(prepay_id) if params["package"].startswith("prepay_id=") else None
            order = self.orders.get(out_trade_no) if out_trade_no else None
            if order is None:
                raise PaymentRejected("prepay_id无效")
            if self.clock.now() >= order.prepay_expires_at:
                raise PaymentRejected("prepay_id已过期")
            return order
