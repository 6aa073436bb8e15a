// The host view (issue 21): the host's staff see their rooms' state, are alerted (a sound and a browser
// notification) when a device fails or a customer asks for help, say "I'm on it", and set or clear the room's
// out of service. Polls /api/host like the organiser's overview; the rooms' elements are kept between polls so
// a message being typed is not lost. No customer data reaches this page: device codes and staff names only.
'use strict';
const $ = (id) => document.getElementById(id);
const host = { rooms: new Map(), last: null, seen: new Set(), audio: null, sounds: 0, notified: [], first: true };
window.host = host; // for the browser tests: host.sounds, host.notified

function post(path, body) {
  // JSON from this page's origin: the switchboard takes nothing else here (no cross-site action).
  return fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin',
    body: JSON.stringify(body),
  }).catch(() => null);
}

function clock(epochS) {
  const d = new Date(epochS * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function alertText(a) {
  if (a.kind === 'help') return t('host_help');
  const name = (a.device_name && a.device_name[window.lang]) || a.device;
  const device = name.charAt(0).toUpperCase() + name.slice(1);
  const advice = (a.advice && a.advice[window.lang]) || a.code;
  return t('host_fault', { device, advice });
}

// ------------------------------------------------------------------------------------------- sound, notifications

function enableAlerts() {
  try { host.audio = host.audio || new AudioContext(); host.audio.resume(); } catch { host.audio = null; }
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission();
  $('enable-alerts').hidden = true; $('alerts-on').hidden = false;
}

function chime() {
  // Three rising tones, twice: heard across a library desk without being a fire alarm.
  host.sounds += 1;
  const ctx = host.audio; if (!ctx) return;
  const start = ctx.currentTime;
  [523, 659, 784, 523, 659, 784].forEach((f, i) => {
    const osc = ctx.createOscillator(); const gain = ctx.createGain();
    osc.frequency.value = f; osc.type = 'triangle';
    gain.gain.setValueAtTime(0.5, start + i * 0.2); gain.gain.setValueAtTime(0, start + i * 0.2 + 0.18);
    osc.connect(gain).connect(ctx.destination); osc.start(start + i * 0.2); osc.stop(start + i * 0.2 + 0.2);
  });
}

function announce(room, a) {
  const title = t(a.kind === 'help' ? 'host_notify_help' : 'host_notify_fault', { place: room.place });
  const body = alertText(a);
  host.notified.push({ title, body });
  if ('Notification' in window && Notification.permission === 'granted') {
    try {
      const n = new Notification(title, { body, tag: a.id, requireInteraction: true });
      n.onclick = () => { window.focus(); n.close(); };
    } catch { /* a browser that shows notifications only from a service worker: the sound and the page remain */ }
  }
}

// ------------------------------------------------------------------------------------------- rendering

function roomElement(room) {
  let el = host.rooms.get(room.point);
  if (el) return el;
  el = $('room-template').content.firstElementChild.cloneNode(true);
  el.dataset.point = room.point;
  el.querySelector('.set-out').addEventListener('click', () => setService(room.point, true, el));
  el.querySelector('.set-in').addEventListener('click', () => setService(room.point, false, el));
  host.rooms.set(room.point, el);
  $('rooms').append(el);
  window.applyI18n();
  return el;
}

function renderRoom(room) {
  const el = roomElement(room);
  // Redrawn only when something changed: a screen reader is not made to read the same room every poll.
  const sig = JSON.stringify([window.lang, room]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.querySelector('.place').textContent = room.place;
  const state = el.querySelector('.state');
  state.className = `state state-${room.state}`;
  state.textContent = t(`host_state_${room.state}`);
  const hours = el.querySelector('.hours');
  hours.hidden = room.hours_today === null;
  if (room.hours_today !== null) {
    // Open today but not at this moment (before opening, a lunch break, after closing): said, so staff know
    // why nobody is let in (open_now comes from the same hours on the switchboard's clock).
    const today = room.hours_today.join(', ');
    hours.textContent = !room.hours_today.length ? t('host_closed_today')
      : t(room.open_now === false ? 'host_hours_today_closed_now' : 'host_hours_today', { hours: today });
  }
  const booked = room.bookings_today || [];  // the day's appointments: time and service only
  el.querySelector('.bookings').textContent = booked.length
    ? t('host_bookings_today', { list: booked.map((b) => `${clock(b.start)} ${(b.producer_name || {})[window.lang] || b.producer}`
                                                        + (b.checked_in ? ` (${t('appointments_checked_in')})` : '')).join(', ') })
    : t('host_bookings_none');
  const list = el.querySelector('.alerts');
  const items = room.alerts.map((a) => {
    const li = document.createElement('li');
    li.className = a.ack_by ? 'taken' : a.kind; li.dataset.alert = a.id;
    const what = document.createElement('span'); what.className = 'what';
    what.textContent = `${alertText(a)} (${t('host_since', { time: clock(a.since) })})`;
    li.append(what);
    if (a.ack_by) {
      const who = document.createElement('span'); who.className = 'who'; who.textContent = t('host_taken', { name: a.ack_by });
      li.append(who);
    } else {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'primary big on-it';
      b.textContent = t('host_on_it');
      b.addEventListener('click', () => acknowledge(room.point, a.id));
      li.append(b);
    }
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li'); li.className = 'none'; li.textContent = t('host_no_alerts'); items.push(li);
  }
  list.replaceChildren(...items);
  const out = room.state === 'out_of_service', offline = room.state === 'offline';
  el.querySelector('.set-out').hidden = out; el.querySelector('.set-in').hidden = !out;
  el.querySelector('.service-message').disabled = out || offline;
  for (const b of el.querySelectorAll('.service button')) b.disabled = offline;
}

function render(data) {
  host.last = data;
  $('who').textContent = data.name;
  let fresh = false;
  for (const room of data.rooms) {
    renderRoom(room);
    for (const a of room.alerts) {
      if (!a.ack_by && !host.seen.has(a.id)) { host.seen.add(a.id); announce(room, a); fresh = true; }
    }
  }
  if (fresh) { chime(); tell(host.notified[host.notified.length - 1].title); }
  const open = data.rooms.reduce((n, r) => n + r.alerts.filter((a) => !a.ack_by).length, 0);
  document.title = (open ? `(${open}) ` : '') + t('host_title');
}

// ------------------------------------------------------------------------------------------- actions

async function refresh() {
  const resp = await fetch('/api/host', { credentials: 'same-origin' }).catch(() => null);
  if (!resp) { $('message').textContent = t('connection_lost'); return; }
  if (resp.status === 401 || resp.status === 403) { location.href = '/'; return; }
  if ($('message').dataset.sticky !== '1') $('message').textContent = '';
  render(await resp.json());
}

function tell(text) {
  // The status line (role=status) is read out by screen readers; it stays for a few polls.
  $('message').textContent = text; $('message').dataset.sticky = '1';
  clearTimeout(host.toldTimer);
  host.toldTimer = setTimeout(() => { $('message').dataset.sticky = ''; }, 5000);
}
function say(key) { tell(t(key)); }

async function acknowledge(point, alert) {
  const resp = await post('/api/host/ack', { point, alert });
  if (!resp) { say('connection_lost'); return; }
  if (resp.status === 404) say('host_alert_gone');
  await refresh();
}

async function setService(point, on, el) {
  const input = el.querySelector('.service-message');
  const resp = await post('/api/host/service', { point, on, message: on ? input.value : null });
  if (!resp) { say('connection_lost'); return; }
  if (resp.status === 409) { say('host_offline_cannot'); return; }
  if (resp.ok) { say('host_service_sent'); if (!on) input.value = ''; }
  await refresh();
}

async function logout() {
  await post('/api/logout', {});
  location.href = '/';
}

document.addEventListener('DOMContentLoaded', () => {
  document.body.dataset.titleKey = 'host_title';
  window.applyI18n();
  $('enable-alerts').addEventListener('click', enableAlerts);
  $('logout').addEventListener('click', logout);
  document.addEventListener('languagechange', () => { if (host.last) render(host.last); });
  refresh();
  setInterval(refresh, 2000);
});
