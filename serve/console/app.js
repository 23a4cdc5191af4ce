// The reviewlake console: reads the server's own JSON endpoints and renders them. No framework,
// nothing fetched from elsewhere; text from the lake is always set as text, never as HTML.
'use strict';

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

const number = (n) => {
  if (typeof n !== 'number') return n ?? '–';
  // Large figures (a model's cost) in short form, small ones with up to four decimals.
  const options = Math.abs(n) >= 1e6 && !Number.isInteger(n)
    ? { notation: 'compact', maximumFractionDigits: 2 } : { maximumFractionDigits: 4 };
  return n.toLocaleString('en-US', options);
};
const bytes = (n) => {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};
const when = (ms) => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

async function getJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  return { ok: response.ok, status: response.status, body };
}

// A table from a header row and rows of cells; a cell is a value or {text, className}.
function fillTable(table, header, rows, numeric = []) {
  table.replaceChildren();
  const head = el('tr');
  header.forEach((h, i) => head.append(el('th', h, numeric.includes(i) ? 'num' : undefined)));
  table.append(el('thead'));
  table.tHead.append(head);
  const body = el('tbody');
  for (const row of rows) {
    const tr = el('tr');
    row.forEach((cell, i) => {
      const c = cell !== null && typeof cell === 'object' ? cell : { text: cell };
      tr.append(el('td', c.text, c.className || (numeric.includes(i) ? 'num' : undefined)));
    });
    body.append(tr);
  }
  table.append(body);
}

function figures(container, items) {
  container.replaceChildren(...items.map(([label, value]) => {
    const box = el('div', undefined, 'figure');
    box.append(el('b', value), el('span', label));
    return box;
  }));
}

function showError(target, message) {
  target.textContent = message;
  target.classList.add('error');
}

async function loadLake() {
  const { ok, body } = await getJson('/lake');
  if (!ok) { showError($('#lake-where'), body.error || 'the lake is unavailable'); return; }
  const s = body.summary;
  $('#lake-where').textContent = `${body.lake} · reviews table version ${s.reviews_version ?? '–'}, rejected table version ${s.rejected_version ?? '–'}`;
  figures($('#lake-totals'), [
    ['reviews', number(s.total.rows)], ['files', number(s.total.files)], ['size', bytes(s.total.bytes)],
    ['rejected', number(s.total.rejected)], ['partitions', number(s.partitions.length)],
  ]);
  const lag = new Map();
  const ingest = body.ingest;
  if (ingest && Array.isArray(ingest.partitions)) {
    for (const p of ingest.partitions) lag.set(`${ingest.topic}/${p.partition}`, p.lag);
    $('#ingest').textContent = `ingest: ${number(ingest.records)} records and ${number(ingest.rejected)} rejects committed since it started; total lag ${number(ingest.partitions.reduce((a, p) => a + (p.lag ?? 0), 0))}`;
  } else if (ingest && ingest.error) {
    showError($('#ingest'), ingest.error);
  } else {
    $('#ingest').textContent = 'ingest lag: start serve with --ingest-status http://HOST:PORT/status to show it';
  }
  fillTable($('#partitions'), ['topic', 'partition', 'rows', 'files', 'size', 'offsets', 'rejected', 'lag'],
    s.partitions.map((p) => [p.topic, p.partition, number(p.rows), number(p.files), bytes(p.bytes),
      p.last_offset === null ? '–' : `${p.first_offset ?? ''}..=${p.last_offset}`, number(p.rejected),
      lag.has(`${p.topic}/${p.partition}`) ? number(lag.get(`${p.topic}/${p.partition}`)) : '–']),
    [1, 2, 3, 4, 6, 7]);
  const commits = [];
  for (const [table, list] of Object.entries(body.commits)) {
    for (const c of list) commits.push({ table, ...c });
  }
  commits.sort((a, b) => (b.timestamp_ms ?? 0) - (a.timestamp_ms ?? 0));
  fillTable($('#commits'), ['time (UTC)', 'table', 'version', 'operation', 'files +', 'rows +', 'files −', 'rows −'],
    commits.slice(0, 12).map((c) => [when(c.timestamp_ms), c.table, c.version, c.operation,
      number(c.files_added), number(c.rows_added), number(c.files_removed), number(c.rows_removed)]),
    [2, 4, 5, 6, 7]);
  fillTable($('#rejects'), ['field', 'records', 'example reason', 'at', 'example payload'],
    body.rejects.map((r) => [r.field, number(r.count), { text: r.example_reason, className: 'wrap' },
      `${r.example_partition}@${r.example_offset}`, { text: r.example_payload ?? '(none)', className: 'wrap' }]),
    [1]);
  if (!body.rejects.length) fillTable($('#rejects'), ['field', 'records'], [['(none)', 0]], [1]);
}

function modelCard(model) {
  const card = $('#model-card').content.firstElementChild.cloneNode(true);
  card.id = `model-${model.name}`;
  $('.name', card).textContent = model.name;
  $('.meta', card).textContent = `version ${model.version} · ${model.id} · trained ${model.created_at}`;
  figures($('.figures', card), [
    ['k', model.k], ['cost', number(model.cost)], ['silhouette', number(model.silhouette)],
    ['rows used', number(model.rows_used)], ['transform', model.transform],
  ]);
  const name = encodeURIComponent(model.name);
  $('.plot', card).src = `/models/${name}/plot.svg`;
  $('.plot', card).alt = `cluster plot of ${model.name}`;
  $('.lineage', card).addEventListener('toggle', async (event) => {
    if (!event.target.open || event.target.dataset.loaded) return;
    event.target.dataset.loaded = '1';
    const { ok, body } = await getJson(`/models/${name}`);
    const dl = $('dl', event.target);
    if (!ok) { showError(dl, body.error); return; }
    const rows = [['table version', body.lake.table_version ?? '–'], ['files read', number(body.lake.files)],
      ['cohort', body.cohort.file], ['cohort rows', number(body.cohort.cohort_rows)],
      ['engine', `${body.algorithm.engine}, ${body.algorithm.init}, n_init ${body.algorithm.n_init}, seed ${body.algorithm.seed}`],
      ['partitions', body.lake.partitions.map((p) => `${p.topic}/${p.partition} ${p.first_offset}..=${p.last_offset}`).join(', ')]];
    for (const [k, v] of rows) dl.append(el('dt', k), el('dd', v));
    $('.cohort-sql', event.target).textContent = body.cohort.sql;
  });
  $('.versions', card).addEventListener('toggle', async (event) => {
    if (!event.target.open || event.target.dataset.loaded) return;
    event.target.dataset.loaded = '1';
    const { ok, body } = await getJson(`/models/${name}/versions`);
    const table = $('table', event.target);
    if (!ok) { showError(table, body.error); return; }
    fillTable(table, ['version', 'serving', 'created', 'cost', 'silhouette', 'rows', 'table version'],
      body.versions.map((v) => (v.error ? [v.id, '', v.error, '', '', '', ''] : [v.version, v.serving ? 'yes' : '', v.created_at,
        number(v.cost), number(v.silhouette), number(v.rows_used), v.table_version ?? '–'])), [0, 3, 4, 5, 6]);
  });
  $('.report', card).addEventListener('toggle', async (event) => {
    if (!event.target.open || event.target.dataset.loaded) return;
    event.target.dataset.loaded = '1';
    const response = await fetch(`/models/${name}/report.md`);
    $('pre', event.target).textContent = await response.text();
  });
  $('.predict', card).addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const review = {};
    for (const field of ['rating', 'likes', 'length']) review[field] = Number(form.elements.namedItem(field).value);
    const answer = $('.answer', form);
    const { status, body } = await getJson(`/predict/${name}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(review),
    });
    answer.textContent = `HTTP ${status}\n${JSON.stringify(body, null, 2)}`;
  });
  return card;
}

async function loadModels() {
  const { ok, body } = await getJson('/models');
  const list = $('#model-list');
  if (!ok) { showError(list, body.error); return []; }
  list.replaceChildren(...body.models.map(modelCard));
  if (!body.models.length) list.append(el('p', 'No model is loaded yet: run reviewlake train.', 'muted'));
  return body.models;
}

async function runSql(event) {
  event.preventDefault();
  const status = $('#sql-status');
  const button = $('#sql-run');
  status.classList.remove('error');
  status.textContent = 'running…';
  button.disabled = true;
  try {
    const { ok, body } = await getJson('/sql', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sql: $('#sql-text').value }),
    });
    if (!ok) { showError(status, body.error); $('#sql-result').replaceChildren(); return; }
    const names = body.columns.map((c) => c.name);
    fillTable($('#sql-result'), names, body.rows.map((r) => names.map((n) => (r[n] === null ? 'NULL' : typeof r[n] === 'object' ? JSON.stringify(r[n]) : r[n]))));
    status.textContent = `${body.row_count} row(s)${body.truncated ? ` (cut at ${body.max_rows})` : ''} in ${body.elapsed_ms.toFixed(1)} ms, reviews table version ${body.reviews_version ?? '–'}`;
  } finally {
    button.disabled = false;
  }
}

async function main() {
  $('#sql-form').addEventListener('submit', runSql);
  const [models] = await Promise.all([loadModels(), loadLake().catch((e) => showError($('#lake-where'), String(e)))]);
  $('#status').textContent = `${models.length} model(s) loaded`;
  document.body.dataset.ready = '1';
}

main().catch((e) => showError($('#status'), String(e)));
