// /api/docs: a small self-contained page that renders /api/v1/openapi.json (no CDN, no framework).
// The script is served as its own file so helmet's default Content-Security-Policy (script-src 'self') holds.
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opsflow API</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
  header { background: #1d232a; color: #fff; padding: 14px 24px; }
  header h1 { margin: 0; font-size: 18px; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
  input { width: 100%; padding: 8px; font-size: 14px; margin: 8px 0 16px; box-sizing: border-box; }
  h2 { margin: 28px 0 8px; font-size: 16px; border-bottom: 1px solid #d5d9de; padding-bottom: 4px; }
  details { background: #fff; border: 1px solid #d5d9de; border-radius: 6px; margin: 6px 0; }
  summary { cursor: pointer; padding: 8px 12px; font-family: ui-monospace, monospace; }
  .m { display: inline-block; min-width: 58px; font-weight: 700; text-transform: uppercase; }
  .get { color: #0b7a3e; } .post { color: #1357b8; } .put { color: #9a6200; } .patch { color: #7a3fb0; } .delete { color: #b3261e; }
  .s { color: #4a5561; font-family: system-ui, sans-serif; margin-left: 8px; }
  .body { padding: 0 14px 12px; }
  pre { background: #f0f2f5; padding: 8px; overflow: auto; border-radius: 4px; font-size: 12px; }
  table { border-collapse: collapse; } td, th { border: 1px solid #d5d9de; padding: 3px 8px; text-align: left; font-size: 13px; }
</style>
</head>
<body>
<header><h1>opsflow API</h1><div id="desc"></div></header>
<main>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<input id="filter" placeholder="filter by path, tag or summary">
<div id="ops">loading…</div>
</main>
<script src="/api/docs/docs.js"></script>
</body>
</html>
`;

export const DOCS_JS = `'use strict';
function el(tag, attrs, children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of [].concat(children || [])) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function render(spec, filter) {
  const root = document.getElementById('ops');
  root.textContent = '';
  const byTag = new Map();
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const text = (path + ' ' + method + ' ' + (op.summary || '') + ' ' + (op.tags || []).join(' ')).toLowerCase();
      if (filter && !text.includes(filter)) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  for (const [tag, ops] of byTag) {
    root.append(el('h2', {}, tag));
    for (const [path, method, op] of ops) {
      const body = el('div', { class: 'body' });
      if (op.description) body.append(el('p', {}, op.description));
      if (op.parameters && op.parameters.length) {
        const rows = op.parameters.map((p) => el('tr', {}, [el('td', {}, p.name), el('td', {}, p.in), el('td', {}, p.required ? 'required' : ''), el('td', {}, JSON.stringify(p.schema))]));
        body.append(el('h4', {}, 'Parameters'), el('table', {}, [el('tr', {}, [el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, ''), el('th', {}, 'schema')]), ...rows]));
      }
      if (op.requestBody) body.append(el('h4', {}, 'Request body'), el('pre', {}, JSON.stringify(op.requestBody.content['application/json'].schema, null, 2)));
      for (const [status, r] of Object.entries(op.responses || {})) {
        const schema = r.content && r.content['application/json'] && r.content['application/json'].schema;
        body.append(el('h4', {}, 'Response ' + status + ' — ' + r.description));
        if (schema && Object.keys(schema).length) body.append(el('pre', {}, JSON.stringify(schema, null, 2)));
      }
      root.append(el('details', {}, [el('summary', {}, [el('span', { class: 'm ' + method }, method), path, el('span', { class: 's' }, op.summary || '')]), body]));
    }
  }
}
fetch('/api/v1/openapi.json').then((r) => r.json()).then((spec) => {
  document.getElementById('desc').textContent = spec.info.description;
  render(spec, '');
  document.getElementById('filter').addEventListener('input', (e) => render(spec, e.target.value.toLowerCase()));
}).catch((e) => { document.getElementById('ops').textContent = 'could not load the OpenAPI document: ' + e; });
`;
