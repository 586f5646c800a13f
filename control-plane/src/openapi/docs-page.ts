import { createHash } from 'node:crypto';

/**
 * The interactive documentation: one self-contained page (no CDN: installations are often
 * offline) that reads /api/v1/openapi.json, lists the operations by tag with their schemas, and
 * can send a request with a key typed into the page (kept in sessionStorage only).
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Flotilla API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f6f7f9; }
  header { background: #1d2733; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  header input { width: 360px; padding: 4px 8px; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 24px; }
  h2 { text-transform: capitalize; border-bottom: 1px solid #ccd; padding-bottom: 4px; }
  details { background: #fff; border: 1px solid #dde; border-radius: 6px; margin: 6px 0; }
  summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 12px; align-items: baseline; }
  .m { font-weight: 700; width: 64px; text-transform: uppercase; font-family: monospace; }
  .get { color: #1769aa; } .post { color: #2e7d32; } .put { color: #b26a00; } .delete { color: #c62828; } .patch { color: #6a1b9a; }
  .p { font-family: monospace; } .s { color: #556; } .role { margin-left: auto; font-size: 12px; color: #778; }
  .body { padding: 0 12px 12px; }
  pre { background: #f0f2f5; padding: 8px; overflow: auto; max-height: 320px; font-size: 12px; }
  textarea { width: 100%; min-height: 90px; font-family: monospace; }
  button { padding: 4px 12px; }
</style>
</head>
<body>
<header><h1>Flotilla control plane API</h1>
<label>Key <input id="key" type="password" placeholder="fok_… (Authorization: Bearer)"></label></header>
<main id="main">Loading /api/v1/openapi.json…</main>
<script>
const keyInput = document.getElementById('key');
keyInput.value = sessionStorage.getItem('flotilla-key') || '';
keyInput.addEventListener('change', () => sessionStorage.setItem('flotilla-key', keyInput.value));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const el = (html) => { const t = document.createElement('template'); t.innerHTML = html.trim(); return t.content.firstChild; };
function resolve(doc, schema) {
  if (schema && schema.$ref) return doc.components.schemas[schema.$ref.split('/').pop()];
  return schema;
}
function operation(doc, path, method, op) {
  const body = op.requestBody && op.requestBody.content['application/json'];
  const params = (op.parameters || []).filter((p) => p.in !== 'header');
  const node = el('<details><summary><span class="m ' + method + '">' + method + '</span><span class="p">' + esc(path) +
    '</span><span class="s">' + esc(op.summary || '') + '</span><span class="role">' + esc(op['x-flotilla-role'] || '') + '</span></summary><div class="body"></div></details>');
  const div = node.querySelector('.body');
  if (op.description) div.append(el('<p>' + esc(op.description) + '</p>'));
  const form = el('<div></div>');
  for (const p of params) form.append(el('<div><label>' + esc(p.in) + ' <b>' + esc(p.name) + '</b>' + (p.required ? ' *' : '') + ' <input data-in="' + esc(p.in) + '" data-name="' + esc(p.name) + '"></label></div>'));
  if (body) {
    div.append(el('<div><b>Request body</b><pre>' + esc(JSON.stringify(resolve(doc, body.schema), null, 2)) + '</pre></div>'));
    form.append(el('<textarea placeholder="JSON body"></textarea>'));
  }
  const ok = op.responses && Object.entries(op.responses).find(([s]) => s.startsWith('2'));
  const okSchema = ok && ok[1].content && ok[1].content['application/json'];
  if (okSchema) div.append(el('<div><b>Response ' + ok[0] + '</b><pre>' + esc(JSON.stringify(resolve(doc, okSchema.schema), null, 2)) + '</pre></div>'));
  const out = el('<pre hidden></pre>');
  const send = el('<button>Send</button>');
  send.addEventListener('click', async () => {
    let url = path; const query = new URLSearchParams();
    for (const input of form.querySelectorAll('input')) {
      if (!input.value) continue;
      if (input.dataset.in === 'path') url = url.replace('{' + input.dataset.name + '}', encodeURIComponent(input.value));
      else query.set(input.dataset.name, input.value);
    }
    const headers = {};
    if (keyInput.value) headers.authorization = 'Bearer ' + keyInput.value;
    const text = form.querySelector('textarea');
    if (text && text.value) headers['content-type'] = 'application/json';
    const res = await fetch(url + (query.size ? '?' + query : ''), { method: method.toUpperCase(), headers, body: text && text.value ? text.value : undefined });
    out.hidden = false;
    out.textContent = res.status + ' ' + res.statusText + '\\n\\n' + (await res.text());
  });
  form.append(send);
  div.append(form, out);
  return node;
}
fetch('/api/v1/openapi.json').then((r) => r.json()).then((doc) => {
  const main = document.getElementById('main');
  main.innerHTML = '<p>' + esc(doc.info.description) + '</p>';
  for (const tag of doc.tags) {
    main.append(el('<h2>' + esc(tag.name) + '</h2>'));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) if (op.tags.includes(tag.name)) main.append(operation(doc, path, method, op));
    }
  }
}, (e) => { document.getElementById('main').textContent = 'Cannot load the document: ' + e; });
</script>
</body>
</html>
`;

const inlineHash = (tag: 'script' | 'style') => {
  const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(DOCS_PAGE)![1]!;
  return `'sha256-${createHash('sha256').update(body).digest('base64')}'`;
};

/** The page's own policy: its one inline script and style by hash, requests to this origin only. */
export const DOCS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${inlineHash('script')}`,
  `style-src ${inlineHash('style')}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
