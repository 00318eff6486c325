<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付</title>
<style nonce="{{nonce}}">
  body { margin: 0; background: #f7f7f7; color: #222; font: 16px/1.6 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
  main { max-width: 480px; margin: 0 auto; padding: 32px 20px; text-align: center; }
  .item { font-size: 18px; margin-bottom: 6px; }
  .price { font-size: 34px; font-weight: 600; margin: 12px 0 28px; }
  button { width: 100%; padding: 14px; font-size: 17px; color: #fff; background: #07c160; border: 0; border-radius: 8px; }
  .state { display: none; margin-top: 24px; font-size: 17px; }
  .state.on { display: block; }
  .small { color: #888; font-size: 14px; margin-top: 18px; }
</style>
</head>
<body>
<main>
  <div class="item" id="item">{{item}}</div>
  <div class="price" id="price">{{price}}</div>
  <div class="state on" id="ready"><button id="pay" type="button">确认支付</button>
    <p class="small">支付完成后，内容会自动发送到公众号对话中。</p></div>
  <div class="state" id="confirming">支付结果确认中，请稍候……</div>
  <div class="state" id="paid">✅ 支付成功！内容已发送到公众号对话中，返回对话即可阅读。</div>
  <div class="state" id="closed">订单已关闭。请回到公众号对话重新购买。</div>
  <div class="state" id="failed">支付未完成，可以再试一次。<p><button id="retry" type="button">重新支付</button></p></div>
</main>
% if bridge_url:
<script src="{{bridge_url}}"></script>
% end
<script nonce="{{nonce}}">
(function () {
  var params = {{!params_json}};
  var statusUrl = {{!status_json}};
  function show(id) {
    var states = document.querySelectorAll(".state");
    for (var i = 0; i < states.length; i++) states[i].className = states[i].id === id ? "state on" : "state";
  }
  function poll() {
    fetch(statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.state === "paid") show("paid");
        else if (j.state === "closed" || j.state === "refunded") show("closed");
        else setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  function invoke() {
    WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
      if (res.err_msg === "get_brand_wcpay_request:ok") { show("confirming"); poll(); }  // only the server says PAID
      else if (res.err_msg === "get_brand_wcpay_request:cancel") show("ready");
      else show("failed");
    });
  }
  function pay() {
    if (typeof WeixinJSBridge === "undefined") document.addEventListener("WeixinJSBridgeReady", invoke, false);
    else invoke();
  }
  document.getElementById("pay").onclick = pay;
  document.getElementById("retry").onclick = pay;
})();
</script>
</body>
</html>
