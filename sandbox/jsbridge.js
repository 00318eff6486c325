/*
 * A stand-in for the WeixinJSBridge that WeChat's built-in browser injects into every page.
 *
 * The bot's pay page must not load this itself: tests inject it before any page script runs, as
 * WeChat's browser does (Playwright: page.add_init_script(sandbox.pay.jsbridge_script(server.url))),
 * or fetch the ready-made copy from GET /sandbox/jsbridge.js.
 *
 *   WeixinJSBridge.invoke('getBrandWCPayRequest', {appId, timeStamp, nonceStr, package, signType, paySign},
 *                         function (res) { res.err_msg == "get_brand_wcpay_request:ok" | ":cancel" | ":fail" })
 *
 * The parameters go to the sandbox (POST /sandbox/pay/confirm), which checks appId, the prepay_id and
 * paySign with the merchant's public key, then plays the payer: the order is paid and WeChat Pay's
 * notification goes to the bot. As in WeChat, the page's "ok" proves nothing to the server.
 *
 * Options, set before the bridge loads (e.g. in an earlier init script):
 *   window.__WX_SANDBOX__ = {openid: "o_user",    // the paying user (default: the sandbox_openid cookie)
 *                            action: "pay"}       // or "cancel" (the user closes the cashier) or "fail"
 *
 * The bridge appears after the document has loaded and then fires "WeixinJSBridgeReady" on document,
 * so pages must use the usual pattern:
 *   if (typeof WeixinJSBridge == "undefined") document.addEventListener("WeixinJSBridgeReady", ready, false);
 *   else ready();
 */
(function () {
  "use strict";
  if (window.WeixinJSBridge) return;
  var SANDBOX = "__SANDBOX_URL__";
  var PAY_KEYS = ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"];

  function options() {
    return window.__WX_SANDBOX__ || {};
  }

  function later(callback, result) {
    if (typeof callback === "function") setTimeout(function () { callback(result); }, 0);
  }

  function payRequest(params, callback) {
    params = params || {};
    for (var i = 0; i < PAY_KEYS.length; i++) {
      if (typeof params[PAY_KEYS[i]] !== "string" || !params[PAY_KEYS[i]]) {
        later(callback, {err_msg: "get_brand_wcpay_request:fail", err_desc: "缺少参数" + PAY_KEYS[i]});
        return;
      }
    }
    var body = {params: params, action: options().action || "pay"};
    if (options().openid) body.openid = options().openid;
    fetch(SANDBOX + "/sandbox/pay/confirm", {
      method: "POST",
      mode: "cors",
      credentials: "include",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json();
    }).then(function (result) {
      later(callback, result);
    }, function (error) {
      later(callback, {err_msg: "get_brand_wcpay_request:fail", err_desc: "sandbox unreachable: " + error});
    });
  }

  var bridge = {
    invoke: function (name, params, callback) {
      if (name === "getBrandWCPayRequest") payRequest(params, callback);
      else later(callback, {err_msg: name + ":fail", err_desc: "the sandbox bridge only pays"});
    },
    call: function (name) {},
    on: function (name, callback) {}
  };

  function install() {
    window.WeixinJSBridge = bridge;
    var event;
    try {
      event = new Event("WeixinJSBridgeReady");
    } catch (e) {
      event = document.createEvent("Events");
      event.initEvent("WeixinJSBridgeReady", false, false);
    }
    document.dispatchEvent(event);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", install, false);
  else setTimeout(install, 0);
})();
