<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据看板</title>
<style nonce="{{nonce}}">
  body { margin: 0; background: #f7f7f7; color: #222; font: 15px/1.6 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
  main { max-width: 960px; margin: 0 auto; padding: 20px 16px 40px; }
  h1 { font-size: 20px; margin: 4px 0 12px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  .cards { display: flex; flex-wrap: wrap; gap: 10px; }
  .card { background: #fff; border-radius: 8px; padding: 10px 14px; min-width: 120px; }
  .card b { display: block; font-size: 20px; }
  .chart { background: #fff; border-radius: 8px; padding: 8px; margin-top: 8px; }
  .chart img { width: 100%; height: auto; display: block; }
  .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
  table { width: 100%; border-collapse: collapse; background: #fff; border-radius: 8px; font-size: 13px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eee; word-break: break-all; }
  a.csv { display: inline-block; margin-top: 10px; color: #07c160; }
  @media (max-width: 640px) { .pair { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<main>
  <h1 id="headline">数据看板 · {{label}}</h1>
  <div class="cards">
    <div class="card">收入<b id="revenue">{{revenue}}</b></div>
    <div class="card">付费订单<b>{{orders}}</b></div>
    <div class="card">付费关注者<b>{{payers}}</b></div>
    <div class="card">退款<b>{{refunds}}</b></div>
    <div class="card">赠送<b>{{grants}}</b></div>
    <div class="card">新关注<b>{{new}}</b></div>
  </div>
  <h2>每日收入</h2>
  <div class="chart" id="revenue-chart"><img src="{{charts}}revenue.png" alt="每日收入"></div>
  <div class="pair">
    <div><h2>转化漏斗</h2><div class="chart" id="funnel-chart"><img src="{{charts}}funnel.png" alt="转化漏斗"></div></div>
    <div><h2>收入前五</h2><div class="chart" id="top-chart"><img src="{{charts}}top.png" alt="收入前五"></div></div>
  </div>
  <h2>热销文章</h2>
  <table id="top"><tr><th>#</th><th>内容</th><th>收入</th><th>订单</th></tr>
  % for n, (title, amount, count) in enumerate(top, start=1):
    <tr><td>{{n}}</td><td>{{title}}</td><td>{{fen(amount)}}</td><td>{{count}}</td></tr>
  % end
  </table>
  <h2>最近订单</h2>
  <table id="orders"><tr><th>订单号</th><th>买家</th><th>内容</th><th>金额</th><th>状态</th><th>时间（UTC）</th></tr>
  % for r in recent:
    <tr><td>{{r["no"]}}</td><td>{{r["buyer"]}}</td><td>{{r["item"]}}</td><td>{{r["amount"]}}</td><td>{{r["state"]}}</td><td>{{r["when"]}}</td></tr>
  % end
  </table>
  <a class="csv" id="csv" href="{{csv_url}}">下载全部订单（CSV）</a>
  <h2>最近退款</h2>
  <table id="refunds"><tr><th>订单号</th><th>买家</th><th>内容</th><th>金额</th><th>退款时间（UTC）</th></tr>
  % for r in refunded:
    <tr><td>{{r["no"]}}</td><td>{{r["buyer"]}}</td><td>{{r["item"]}}</td><td>{{r["amount"]}}</td><td>{{r["when"]}}</td></tr>
  % end
  </table>
  <h2>推送记录</h2>
  <table id="rounds"><tr><th>时间</th><th>结果</th></tr>
  % for when, summary in rounds:
    <tr><td>{{when}}</td><td>{{summary}}</td></tr>
  % end
  % if not rounds:
    <tr><td colspan="2">暂无推送记录</td></tr>
  % end
  </table>
</main>
</body>
</html>
