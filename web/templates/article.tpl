<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style nonce="{{nonce}}">
  body { margin: 0; background: #f7f7f7; color: #222; font: 17px/1.75 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
  main { max-width: 680px; margin: 0 auto; padding: 20px 18px 48px; background: #fff; min-height: 100vh; box-sizing: border-box; }
  h1 { font-size: 22px; line-height: 1.4; margin: 8px 0 4px; }
  .meta { color: #888; font-size: 14px; margin-bottom: 20px; }
  pre { background: #f3f3f3; padding: 12px; overflow-x: auto; font-size: 14px; line-height: 1.5; }
  code { font-family: Menlo, Consolas, monospace; }
  img { max-width: 100%; height: auto; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 15px; }
  th, td { border: 1px solid #ddd; padding: 4px 10px; }
  blockquote { margin: 12px 0; padding-left: 12px; border-left: 3px solid #ddd; color: #555; }
  .notice { margin-top: 28px; padding: 14px 16px; background: #f1f8f2; border-left: 4px solid #07c160; font-size: 15px; }
</style>
</head>
<body>
<main>
  <h1 id="title">{{title}}</h1>
  <div class="meta">{{meta}}</div>
  <article id="body">{{!body_html}}</article>
  % if notice:
  <div class="notice" id="notice">{{notice}}</div>
  % end
</main>
</body>
</html>
