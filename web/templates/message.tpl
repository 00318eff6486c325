<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{headline}}</title>
<style nonce="{{nonce}}">body{font:17px/1.7 sans-serif;color:#333;text-align:center;padding:80px 24px} h1{font-size:20px}</style></head>
<body><h1 id="headline">{{headline}}</h1><p id="detail">{{detail}}</p></body>
</html>
