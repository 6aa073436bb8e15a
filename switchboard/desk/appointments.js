// Booked video appointments on the desk (issue 22): choose a point, a service and a day, pick a free time, and
// get the six-digit code to tell the customer; see and cancel one's own bookings; subscribe to them in one's own
// calendar. The switchboard's HTTP API (switchboard/appointments_web.py) does the work; when a booked customer
// checks in at the point, desk.js hands the switchboard's appointment.arrived to appointmentArrived() below.
// No customer data here either: a booking is a time, a place, a service and its code.
'use strict';

const appt = { zone: 'Europe/Helsinki', points: [], loaded: false };
window.appt = appt;  // for the browser tests

function apptTime(epoch, withDay) {
  const opts = { timeZone: appt.zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (withDay) Object.assign(opts, { weekday: 'short', day: 'numeric', month: 'numeric' });
  return new Intl.DateTimeFormat(document.documentElement.lang || 'fi', opts).format(new Date(epoch * 1000));
}

function apptPlace(id) { return (appt.points.find((p) => p.id === id) || { place: id }).place; }

async function apptFetch(path, body) {
  const init = { credentials: 'same-origin' };
  if (body !== undefined) {
    Object.assign(init, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }
  const resp = await fetch(path, init);
  const data = await resp.json().catch(() => ({}));
  return { ok: resp.ok, status: resp.status, data };
}

// After the agent's login (desk.js enter): the points, their services, today's date and their bookings.
async function loadAppointments() {
  const { ok, data } = await apptFetch('/api/appointments');
  if (!ok) return;
  appt.zone = data.timezone; appt.points = data.points;
  const point = $('booking-point'), producer = $('booking-producer');
  point.replaceChildren(...data.points.map((p) => new Option(p.place, p.id)));
  producer.replaceChildren(...data.producers.map((id) => new Option(producerName(id), id)));
  if (!$('booking-day').value) $('booking-day').value = data.today;
  $('calendar-link').href = data.calendar;
  renderBookings(data.bookings);
  appt.loaded = true;
}
window.loadAppointments = loadAppointments;

function renderBookings(bookings) {
  const list = $('my-appointments');
  list.replaceChildren(...bookings.map((b) => {
    const li = document.createElement('li');
    li.dataset.booking = b.id;
    const text = document.createElement('span');
    text.textContent = t('appointments_entry', {
      time: apptTime(b.start, true), place: apptPlace(b.point), producer: producerName(b.producer), code: b.code,
    }) + (b.checked_in ? ` · ${t('appointments_checked_in')}` : '');
    const cancel = document.createElement('button');
    cancel.type = 'button'; cancel.className = 'cancel-booking'; cancel.textContent = t('appointments_cancel');
    cancel.addEventListener('click', () => cancelBooking(b.id));
    li.append(text, ' ', cancel);
    return li;
  }));
  show('my-appointments-empty', bookings.length === 0);
}

async function showSlots(event) {
  event.preventDefault();
  $('booking-result').textContent = '';
  const q = new URLSearchParams({ point: $('booking-point').value, producer: $('booking-producer').value,
                                  day: $('booking-day').value });
  const { ok, data } = await apptFetch(`/api/appointments/slots?${q}`);
  const box = $('booking-slots');
  if (!ok) { box.replaceChildren(); $('booking-result').textContent = t('appointments_failed'); return; }
  if (!data.slots.length) { box.replaceChildren(); $('booking-result').textContent = t('appointments_no_slots'); return; }
  box.replaceChildren(...data.slots.map((start) => {
    const b = document.createElement('button');
    b.type = 'button'; b.className = 'slot'; b.dataset.start = String(start); b.textContent = apptTime(start, false);
    b.addEventListener('click', () => book(start));
    return b;
  }));
}

async function book(start) {
  const point = $('booking-point').value, producer = $('booking-producer').value;
  const { ok, status, data } = await apptFetch('/api/appointments', { point, producer, start });
  if (!ok) {
    $('booking-result').textContent = t(status === 409 ? 'appointments_taken' : 'appointments_failed');
    $('booking-show').click();  // the free times as they are now
    return;
  }
  $('booking-result').textContent = t('appointments_booked', {
    time: apptTime(data.start, true), place: apptPlace(data.point), code: data.code,
  });
  $('booking-code').textContent = data.code;
  show('booking-code-box', true);
  $('booking-slots').replaceChildren();
  await loadAppointments();
}

async function cancelBooking(id) {
  const { ok } = await apptFetch(`/api/appointments/${encodeURIComponent(id)}/cancel`, {});
  $('booking-result').textContent = t(ok ? 'appointments_cancelled' : 'appointments_failed');
  show('booking-code-box', false);
  await loadAppointments();
}

// The switchboard: a customer of this agent's booking checked in at a point (they wait first in line, offered
// to this agent alone while they are online). Loud, as a new customer is.
window.appointmentArrived = (m) => {
  $('appointment-alert').textContent = t('appointments_arrived', { time: apptTime(m.start, false), place: m.place || m.point });
  show('appointment-alert', true);  // its own banner: the queue's "a customer is waiting" may follow it
  beep();
  loadAppointments();
};

document.addEventListener('DOMContentLoaded', () => {
  $('booking-form').addEventListener('submit', showSlots);
});
// Times and texts drawn here follow a change of the desk's language.
document.addEventListener('languagechange', () => { if (appt.loaded) loadAppointments(); });
