// The organiser's overview: points online, queue lengths, calls in progress. Counts only, no personal data.
'use strict';
const $ = (id) => document.getElementById(id);
let last = null;

function cell(row, text) { const td = document.createElement('td'); td.textContent = text; row.append(td); }
function minutes(s) { return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`; }

function render(o) {
  last = o;
  $('online-count').textContent = `${o.points.filter((p) => p.online).length} / ${o.points.length}`;
  $('points').replaceChildren(...o.points.map((p) => {
    const tr = document.createElement('tr'); tr.dataset.point = p.point;
    cell(tr, p.point); cell(tr, p.place); cell(tr, t(`st_${p.state}`)); return tr;
  }));
  $('queues').replaceChildren(...o.queues.map((q) => {
    const tr = document.createElement('tr'); tr.dataset.queue = q.queue;
    cell(tr, q.queue); cell(tr, q.producer); cell(tr, t(q.open ? 'yes' : 'no')); cell(tr, String(q.waiting));
    cell(tr, minutes(q.longest_wait_s)); cell(tr, `${q.agents_online} (${q.agents_in_call})`); return tr;
  }));
  $('call-count').textContent = String(o.calls.length);
  $('calls').replaceChildren(...o.calls.map((c) => {
    const tr = document.createElement('tr');
    cell(tr, c.producer); cell(tr, c.queue); cell(tr, minutes(c.duration_s)); cell(tr, String(c.participants)); return tr;
  }));
}

async function refresh() {
  const resp = await fetch('/api/overview', { credentials: 'same-origin' }).catch(() => null);
  if (!resp) { $('message').textContent = t('connection_lost'); return; }
  if (resp.status === 401 || resp.status === 403) { location.href = '/'; return; }
  $('message').textContent = '';
  render(await resp.json());
}

document.addEventListener('DOMContentLoaded', () => {
  document.body.dataset.titleKey = 'organiser_title';
  window.applyI18n();
  document.addEventListener('languagechange', () => { if (last) render(last); });
  refresh();
  setInterval(refresh, 2000);
});
