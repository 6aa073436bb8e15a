// The producer desk: log in, see the queue (loud sound + flashing banner on a new customer), answer, and
// run the call: video both ways, mute/camera, real-time text, identify, scan, print, interpreter, end.
// Messages follow docs/protocol.md (etapiste/protocol.py); the switchboard validates everything we send.
// Nothing of the customer is stored: documents live in memory (blob URLs revoked at the end of the call),
// the verified name is cleared when the call ends, and nothing is written to localStorage but the language.
'use strict';

const PROTOCOL = 1;
const CHUNK = 16 * 1024;
const HIGH = 1024 * 1024;
const LOW = 256 * 1024;
const MAX_DOC = 20000000;
const MAX_FRAME = 64 * 1024;  // etapiste.protocol.MAX_SIGNAL_BYTES: the largest text frame either side accepts

const $ = (id) => document.getElementById(id);
const desk = {
  ws: null, me: null, role: null, iceServers: [], tickets: new Set(), call: null,
  pcs: new Map(), dc: null, localStream: null, rttSeq: 0, received: [], printed: [], identity: null,
  audio: null, lastMessage: '', reconnectTimer: null, reconnectFailures: 0, holdTimer: null, mediaLostTimer: null,
  // How long the switchboard holds a call for a participant whose connection dropped (its rejoin_grace_s);
  // the customer's media gets as long to come back.
  holdMs: 60000,
  // Refused input, for support staff in devtools and for the tests: data-channel frames from the point that
  // break the protocol, and peers other than the point that tried to open a connection or data channel.
  refusedFrames: 0, refusedPeers: 0,
};
window.desk = desk;  // for the browser tests and for support staff in devtools

function show(id, on) { $(id).hidden = !on; }
function say(key, vars) { desk.lastMessage = key; $('message').textContent = key ? t(key, vars) : ''; }
function send(msg) { if (desk.ws && desk.ws.readyState === WebSocket.OPEN) desk.ws.send(JSON.stringify(msg)); }

// ------------------------------------------------------------------------------------------- login

async function login(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  ensureAudio();  // the click is the user gesture browsers require before sound
  let resp;
  try {
    resp = await fetch('/api/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin',
      body: JSON.stringify({ username: $('username').value, password: $('password').value }),
    });
  } catch (e) { $('login-error').textContent = t('login_failed'); return; }
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 429) { $('login-error').textContent = t('rate_limited', { s: body.retry_after_s }); return; }
  if (!resp.ok) { $('login-error').textContent = t(body.error === 'wrong_credentials' ? 'wrong_credentials' : 'login_failed'); return; }
  $('password').value = '';
  // The customer languages chosen at login (none ticked: the switchboard's configured ones for this agent).
  const languages = ['fi', 'sv', 'en'].filter((l) => $(`serve-${l}`).checked);
  if (languages.length) localStorage.setItem('etapiste.serve', languages.join(' '));
  else localStorage.removeItem('etapiste.serve');
  enter(body);
}

// The languages this agent serves customers in, as chosen at login (sent in every hello), or null.
function servedLanguages() {
  const saved = (localStorage.getItem('etapiste.serve') || '').split(' ').filter((l) => ['fi', 'sv', 'en'].includes(l));
  return saved.length ? saved : null;
}

// An interpreter language's name in the desk's language (the code itself when there is no text for it).
function interpreterName(code) {
  const key = `interpreter_lang.${code}`;
  const name = t(key);
  return name === key ? code : name;
}

function enter(me) {
  desk.me = me; desk.role = me.role;
  if (me.role === 'organiser') { location.href = '/organiser'; return; }
  if (me.role === 'host') { location.href = '/host'; return; }
  $('who').textContent = me.name;
  show('login-view', false); show('logout', true);
  show('queue-view', me.role === 'agent'); show('invite-view', me.role === 'interpreter');
  for (const el of document.querySelectorAll('.agent-only')) el.hidden = me.role !== 'agent';
  if (me.role === 'agent') loadTransferTargets();  // the producers' names, for entries transferred here
  show('appointments-view', me.role === 'agent');
  if (me.role === 'agent') loadAppointments();  // switchboard/desk/appointments.js
  connect();
}

async function logout() {
  // JSON, as the login: the switchboard takes only JSON from its own origin here (no cross-site logout).
  await fetch('/api/logout', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin', body: '{}',
  }).catch(() => {});
  leave('session_expired');
}

function leave(reason) {
  endCall();
  clearTimeout(desk.reconnectTimer); clearTimeout(desk.holdTimer);
  if (desk.ws) { desk.ws.onclose = null; desk.ws.close(); desk.ws = null; }
  desk.me = null;
  show('login-view', true); show('logout', false); show('queue-view', false); show('invite-view', false); show('call-view', false);
  show('appointments-view', false);
  alertOff();
  $('who').textContent = '';
  if (reason) $('login-error').textContent = t(reason);
}

// ------------------------------------------------------------------------------------------- signalling

// Reconnect back-off with full jitter, as etapiste/retry.py: after the n-th failure in a row wait
// uniform(0, min(cap, base·2^n)). After a switchboard restart every desk loses its socket at once; fixed
// delays brought them all back in the same instant, jitter spreads them. In a call the cap is 1 s: the
// switchboard holds our place in the call for rejoin_grace_s, so we try at least every second. Reset on
// welcome (not on open): a socket the switchboard accepts and then drops at once is no success.
const RECONNECT_BASE_MS = 500, RECONNECT_CAP_MS = 5000, RECONNECT_CAP_IN_CALL_MS = 1000;

function reconnectDelayMs() {
  const cap = desk.call ? RECONNECT_CAP_IN_CALL_MS : RECONNECT_CAP_MS;
  const ceiling = Math.min(cap, RECONNECT_BASE_MS * 2 ** Math.min(desk.reconnectFailures, 16));
  desk.reconnectFailures += 1;
  return Math.random() * ceiling;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/ws/desk`);
  desk.ws = ws;
  // An attempt made while the network is down can hang in TCP's backoff long after the network is back:
  // give up on one that has not opened in 3 s and try afresh (onclose schedules the next attempt).
  setTimeout(() => { if (ws.readyState === WebSocket.CONNECTING) ws.close(); }, 3000);
  // After a dropped connection in a call, come back as the same participant into the same call: the
  // customer's point keeps its connection to us and the call goes on.
  ws.onopen = () => send({ type: 'hello.desk', protocol: PROTOCOL,
                           resume: desk.call ? desk.you : null, call: desk.call ? desk.call.id : null,
                           ...(servedLanguages() ? { languages: servedLanguages() } : {}) });
  // One message at a time, in order: an ICE candidate must not overtake the offer it belongs to.
  let chain = Promise.resolve();
  ws.onmessage = (e) => {
    let m; try { m = JSON.parse(e.data); } catch { return; }
    chain = chain.then(() => handle(m)).catch((err) => console.error(err));
  };
  ws.onclose = () => {
    if (desk.ws !== ws || !desk.me) return;
    if (desk.call) {
      // Keep the call (media may still flow) while the switchboard holds it for us; give up after that.
      say('connection_lost_in_call');
      if (!desk.holdTimer) desk.holdTimer = setTimeout(() => { desk.holdTimer = null; endCall(); say('connection_lost'); }, desk.holdMs);
    } else {
      say('connection_lost');
    }
    desk.reconnectTimer = setTimeout(() => { if (desk.me) connect(); }, reconnectDelayMs());
  };
}

async function handle(m) {
  switch (m.type) {
    case 'welcome': return onWelcome(m);
    case 'error': return onError(m);
    case 'queue.snapshot':  // fresh snapshots follow the shared state's return: the notice is over
      if (desk.lastMessage === 'unavailable') say('');
      return renderQueue(m.queues);
    case 'call.start': return onCallStart(m);
    case 'call.peer_joined': return onPeerJoined(m);
    case 'call.peer_left': {
      const role = desk.call && desk.call.peers.get(m.peer)?.role;
      closePeer(m.peer); say(role === 'agent' ? 'joint_left' : 'interpreter_left'); break;
    }
    case 'call.ended':  // also the echo of our own hang-up, after the call is already closed here
      if (desk.call && m.call === desk.call.id) {
        const to = desk.transferTo;
        endCall();
        // The transferring agent is told where the customer went; anyone else in the call (an interpreter)
        // just that the call ended.
        if (m.reason === 'transferred' && to) transferDone(to);
        else say(['hangup', 'transferred'].includes(m.reason) ? 'call_ended' : 'peer_gone');
      }
      break;
    case 'signal.offer': return onOffer(m);
    case 'signal.answer': { const pc = desk.pcs.get(m.peer); if (pc) await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }); break; }
    case 'signal.ice': return onIce(m);
    case 'interpreter.invited': return addInvite(m);
    case 'agent.invited': return addAgentInvite(m);
    case 'agent.invite_gone': { const li = document.getElementById(`agent-invite-${m.invite}`); if (li) li.remove(); updateAgentInvites(); break; }
    case 'interpreter.invite_gone': { const li = document.getElementById(`invite-${m.invite}`); if (li) li.remove(); updateInvites(); break; }
    case 'identity.result': return onIdentityResult(m);
    case 'appointment.arrived': return window.appointmentArrived && window.appointmentArrived(m);
    default: break;
  }
}

function onWelcome(m) {
  desk.you = m.you; desk.iceServers = m.ice_servers || [];
  desk.reconnectFailures = 0;  // connected: the next loss starts small again
  if (m.rejoin_grace_s) desk.holdMs = m.rejoin_grace_s * 1000;
  clearTimeout(desk.holdTimer); desk.holdTimer = null;
  if (desk.call && m.call !== desk.call.id) { endCall(); say('call_lost'); return; }
  if (['connection_lost', 'connection_lost_in_call'].includes(desk.lastMessage)) say('');
}

function onError(m) {
  if (m.code === 'session_expired') { leave('session_expired'); return; }
  if (m.ref === TRANSFER_REF) { transferRefused(m.code); return; }
  if (m.ref === JOINT_REF) { say(m.code === 'no_agent' ? 'joint_no_agent' : 'error_generic', { c: m.code }); return; }
  const known = ['ticket_gone', 'no_interpreter', 'unavailable'];
  say(known.includes(m.code) ? m.code : 'error_generic', { c: m.code });
}

// ------------------------------------------------------------------------------------------- queue + alert

function renderQueue(queues) {
  const box = $('queues');
  box.replaceChildren();
  const seen = new Set();
  let fresh = null;
  for (const q of queues) {
    const section = document.createElement('div');
    section.className = 'queue';
    const h = document.createElement('h3');
    h.textContent = `${q.queue} ${q.open ? '' : t('queue_closed_label')}`;
    section.append(h);
    const ul = document.createElement('ul');
    for (const e of q.entries) {
      seen.add(e.ticket);
      if (!desk.tickets.has(e.ticket)) fresh = e;
      const li = document.createElement('li');
      li.dataset.ticket = e.ticket;
      const span = document.createElement('span');
      span.textContent = `${e.place} · ${e.language.toUpperCase()} · ${t('waited', { s: e.waited_s })}`
        + (e.reconnecting ? ` · ${t('entry_reconnecting')}` : '')
        + (e.language_first_s ? ` · ${t('language_first', { seconds: e.language_first_s })}` : '');
      li.append(span);
      if (e.transferred_from) {  // a colleague of another queue sent them here, with a reason from the list
        const mark = document.createElement('strong');
        mark.className = 'transfer-mark';
        mark.textContent = t('transferred_from', {
          producer: producerName(e.transferred_from), reason: t(`transfer_reason.${e.transfer_reason || 'other'}`),
        });
        li.append(mark);
      }
      if (e.appointment_start) {  // checked in for a booked time (switchboard/desk/appointments.js)
        const booked = document.createElement('strong');
        booked.className = 'appointment-mark';
        booked.textContent = t('appointments_waiting', { time: apptTime(e.appointment_start, false) });
        li.append(booked);
      }
      if (e.interpreter) {  // asked for before queueing: the agent can invite one as soon as they answer
        const need = document.createElement('strong');
        need.className = 'interpreter-need';
        need.textContent = t('interpreter_need', { name: interpreterName(e.interpreter) });
        li.append(need);
      }
      const b = document.createElement('button');
      b.className = 'primary answer'; b.textContent = t('answer'); b.disabled = !!desk.call;
      b.addEventListener('click', () => {
        alertOff(); desk.answering = e.interpreter || null; desk.answeredQueue = q.queue;
        send({ type: 'queue.accept', ticket: e.ticket });
      });
      li.append(b); ul.append(li);
    }
    if (q.entries.length) section.append(ul);
    box.append(section);
  }
  desk.tickets = seen;
  show('queue-empty', seen.size === 0);
  if (fresh && !desk.call) alertOn(`${fresh.place} · ${fresh.language.toUpperCase()}`);
  if (seen.size === 0) alertOff();
}

function ensureAudio() {
  if (!desk.audio) { try { desk.audio = new AudioContext(); } catch { desk.audio = null; } }
  if (desk.audio && desk.audio.state === 'suspended') desk.audio.resume();
}

function beep() {
  // A loud two-tone pattern, three times: hard to miss with headphones off the head.
  ensureAudio();
  const ctx = desk.audio; if (!ctx) return;
  const start = ctx.currentTime;
  for (let i = 0; i < 6; i++) {
    const osc = ctx.createOscillator(); const gain = ctx.createGain();
    osc.type = 'square'; osc.frequency.value = i % 2 ? 660 : 880;
    gain.gain.setValueAtTime(0.6, start + i * 0.25); gain.gain.setValueAtTime(0, start + i * 0.25 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start + i * 0.25); osc.stop(start + i * 0.25 + 0.22);
  }
  desk.alerts = (desk.alerts || 0) + 1;
}

function alertOn(detail) {
  $('alert-detail').textContent = detail;
  show('alert', true);
  document.title = `(!) ${t('alert_new_customer')}`;
  beep();
}
function alertOff() { show('alert', false); show('appointment-alert', false); document.title = t('title'); }

// ------------------------------------------------------------------------------------------- interpreter invites

function addInvite(m) {
  const li = document.createElement('li');
  li.id = `invite-${m.invite}`;
  const span = document.createElement('span');
  span.textContent = `${m.producer} · ${m.language || '—'} · ${m.agent}`;
  const b = document.createElement('button');
  b.className = 'primary accept-invite'; b.textContent = t('accept');
  b.addEventListener('click', () => { send({ type: 'interpreter.accept', invite: m.invite }); li.remove(); updateInvites(); });
  li.append(span, ' ', b);
  $('invites').append(li);
  updateInvites();
  alertOn(`${m.producer} · ${m.language || ''}`);
}
function updateInvites() { show('invites-empty', $('invites').children.length === 0); }

// ------------------------------------------------------------------------------------------- joint calls (issue 22)

// An agent in a call invites another producer's agents; they see the invitation here, the first to accept joins
// the call (the customer's picture and data channel come from the point, the other agent's picture as a tile).
const JOINT_REF = 'joint-invite';

async function fillJointProducers(own) {
  const select = $('joint-producer');
  const producers = [...new Set((await loadTransferTargets()).map((q) => q.producer))].filter((id) => id !== own);
  select.replaceChildren(...producers.map((id) => new Option(producerName(id), id)));
  $('invite-agent').disabled = producers.length === 0;
}

function inviteAgent() {
  const producer = $('joint-producer').value;
  if (!desk.call || !producer) return;
  send({ type: 'agent.invite', call: desk.call.id, producer, ref: JOINT_REF });
  say('joint_invited', { producer: producerName(producer) });
}

function addAgentInvite(m) {
  const li = document.createElement('li');
  li.id = `agent-invite-${m.invite}`;
  const span = document.createElement('span');
  span.textContent = t('joint_invitation', { producer: producerName(m.producer_from), name: m.agent });
  const b = document.createElement('button');
  b.className = 'primary accept-agent-invite'; b.textContent = t('accept');
  b.addEventListener('click', () => { send({ type: 'agent.accept', invite: m.invite }); li.remove(); updateAgentInvites(); });
  li.append(span, ' ', b);
  $('agent-invites').append(li);
  updateAgentInvites();
  if (!desk.call) alertOn(span.textContent);
}
function updateAgentInvites() { show('agent-invites-box', $('agent-invites').children.length > 0); }

// ------------------------------------------------------------------------------------------- calls (WebRTC)

async function localMedia() {
  if (!desk.localStream) {
    desk.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    $('self-video').srcObject = desk.localStream;
  }
  return desk.localStream;
}

async function onCallStart(m) {
  alertOff();
  desk.call = { id: m.call, peers: new Map(m.peers.map((p) => [p.id, p])), point: (m.peers.find((p) => p.role === 'point') || {}).id,
                // Earlier participants offer to later ones: only those already in the call when we joined
                // (the point; for an interpreter also the agent) may send us an offer.
                offerers: new Set(m.peers.map((p) => p.id).filter((id) => !m.offer_to.includes(id))) };
  if (m.ice_servers) desk.iceServers = m.ice_servers;
  show('call-view', true); show('queue-view', false); show('invite-view', false);
  resetCallPanels();
  // The customer said before queueing they need an interpreter: one press invites one of that language.
  desk.need = desk.role === 'agent' ? desk.answering : null;
  desk.answering = null;
  show('invite-needed', !!desk.need);
  if (desk.need) {
    $('invite-needed').textContent = `${t('invite_needed_interpreter')}: ${interpreterName(desk.need)}`;
    $('interpreter-language').value = desk.need;
  }
  // A joint call (issue 22): the services another agent could join from, and whether we joined someone's call.
  desk.call.joined = desk.role === 'agent' && m.peers.some((p) => p.role === 'agent');
  show('transfer', desk.role === 'agent' && !desk.call.joined);  // only the answering agent transfers
  if (desk.role === 'agent') fillJointProducers(m.producer);
  await localMedia();
  for (const peer of m.offer_to) await makeOffer(peer);
}

async function onPeerJoined(m) {
  if (!desk.call) return;
  desk.call.peers.set(m.peer.id, m.peer);
  if (m.peer.role === 'interpreter') say('interpreter_joined');
  if (m.peer.role === 'agent') say('joint_joined', { producer: producerName(m.peer.producer), name: m.peer.name });
  if (m.offer) await makeOffer(m.peer.id);
}

function newPeerConnection(peerId) {
  const pc = new RTCPeerConnection({ iceServers: desk.iceServers });
  desk.pcs.set(peerId, pc);
  for (const track of desk.localStream.getTracks()) pc.addTrack(track, desk.localStream);
  pc.onicecandidate = (e) => {
    const c = e.candidate;
    send({ type: 'signal.ice', call: desk.call.id, peer: peerId, candidate: c ? c.candidate : null,
           sdp_mid: c ? c.sdpMid : null, sdp_mline_index: c ? c.sdpMLineIndex : null });
  };
  pc.ontrack = (e) => attachRemote(peerId, e.streams[0] || new MediaStream([e.track]));
  pc.ondatachannel = (e) => {
    // Only the customer's point carries the call's data (text, scans, print jobs, identification progress).
    // A channel from anyone else (an interpreter) would receive the agent's print jobs and could pass forged
    // "customer" scans and text: closed at once, and the agent is told.
    if (e.channel.label === 'etapiste' && desk.call && peerId === desk.call.point) { setupData(e.channel); return; }
    e.channel.close();
    refusePeer(peerId);
  };
  pc.onconnectionstatechange = () => {
    // The point offers again on a fresh connection when it loses us; until then, say so. If the customer's
    // media is not back in time, end the call here too, so the agent is not left waiting on a point that died.
    // Only the point's connection is the customer's: a joint call's other agent or an interpreter whose
    // connection drops is held and dropped by the switchboard (call.peer_left says so), not "the customer".
    if (!desk.call || peerId !== desk.call.point) return;
    if (['disconnected', 'failed'].includes(pc.connectionState)) {
      say('customer_reconnecting');
      if (!desk.mediaLostTimer) {
        desk.mediaLostTimer = setTimeout(() => {
          desk.mediaLostTimer = null;
          if (desk.call) { send({ type: 'call.hangup', call: desk.call.id }); endCall(); say('peer_gone'); }
        }, desk.holdMs);
      }
    } else if (pc.connectionState === 'connected') {
      clearTimeout(desk.mediaLostTimer); desk.mediaLostTimer = null;
      if (desk.lastMessage === 'customer_reconnecting') say('');
    }
  };
  return pc;
}

function attachRemote(peerId, stream) {
  const isPoint = desk.call && peerId === desk.call.point;
  if (isPoint || (desk.role === 'interpreter' && desk.call.peers.get(peerId)?.role === 'point')) {
    if ($('remote-video').srcObject !== stream) $('remote-video').srcObject = stream;
    return;
  }
  let v = document.getElementById(`video-${peerId}`);
  if (!v) {
    v = document.createElement('video'); v.id = `video-${peerId}`; v.autoplay = true; v.playsInline = true;
    $('extra-videos').append(v);
  }
  if (v.srcObject !== stream) v.srcObject = stream;
}

async function makeOffer(peerId) {
  const pc = desk.pcs.get(peerId) || newPeerConnection(peerId);
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: 'signal.offer', call: desk.call.id, peer: peerId, sdp: pc.localDescription.sdp });
}

function refusePeer(peerId) {
  desk.refusedPeers += 1;
  const peer = desk.call && desk.call.peers.get(peerId);
  console.warn('refused a connection or data channel from', peerId);
  say('peer_refused', { n: (peer && peer.name) || peerId });
}

async function onOffer(m) {
  if (!desk.call || m.call !== desk.call.id) return;
  if (!desk.call.offerers.has(m.peer)) { refusePeer(m.peer); return; }  // a later participant never offers to us
  await localMedia();
  const pc = desk.pcs.get(m.peer) || newPeerConnection(m.peer);
  await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  send({ type: 'signal.answer', call: desk.call.id, peer: m.peer, sdp: pc.localDescription.sdp });
  for (const c of (pc.pendingIce || [])) await pc.addIceCandidate(c).catch(() => {});
  pc.pendingIce = [];
}

async function onIce(m) {
  const pc = desk.pcs.get(m.peer);
  const cand = m.candidate ? { candidate: m.candidate, sdpMid: m.sdp_mid, sdpMLineIndex: m.sdp_mline_index } : null;
  if (!pc || !pc.remoteDescription) {
    if (pc) { pc.pendingIce = pc.pendingIce || []; if (cand) pc.pendingIce.push(cand); }
    return;
  }
  if (cand) await pc.addIceCandidate(cand).catch((e) => console.warn('ICE candidate refused', e));
}

function closePeer(peerId) {
  const pc = desk.pcs.get(peerId);
  if (pc) { pc.close(); desk.pcs.delete(peerId); }
  const v = document.getElementById(`video-${peerId}`);
  if (v) v.remove();
  if (desk.call) desk.call.peers.delete(peerId);
}

function hangup() { if (desk.call) send({ type: 'call.hangup', call: desk.call.id }); endCall(); say('call_ended'); }

function endCall() {
  clearTimeout(desk.holdTimer); desk.holdTimer = null; clearTimeout(desk.mediaLostTimer); desk.mediaLostTimer = null;
  for (const id of [...desk.pcs.keys()]) closePeer(id);
  if (desk.localStream) { for (const tr of desk.localStream.getTracks()) tr.stop(); desk.localStream = null; }
  desk.dc = null; desk.call = null; desk.identity = null;
  $('remote-video').srcObject = null; $('self-video').srcObject = null;
  for (const r of desk.received) URL.revokeObjectURL(r.url);
  desk.received = [];
  resetCallPanels();
  closeTransfer();
  show('call-view', false);
  if (desk.me) { show('queue-view', desk.role === 'agent'); show('invite-view', desk.role === 'interpreter'); }
}

function resetCallPanels() {
  $('rtt-remote-lines').replaceChildren(); $('rtt-remote-current').textContent = ''; $('rtt-own-lines').replaceChildren();
  $('rtt-input').value = '';
  $('identity-status').textContent = t('identity_none'); show('identity-holder', false);
  $('identity-name').textContent = ''; $('identity-satu').textContent = '';
  $('scan-status').textContent = ''; $('print-status').textContent = ''; $('received').replaceChildren();
  $('device-status').textContent = ''; show('device-status', false);
  $('mute').setAttribute('aria-pressed', 'false'); $('mute').textContent = t('mute');
  $('camera').setAttribute('aria-pressed', 'false'); $('camera').textContent = t('camera_off');
}

function toggleTrack(kind, button, offKey, onKey) {
  if (!desk.localStream) return;
  const tracks = kind === 'audio' ? desk.localStream.getAudioTracks() : desk.localStream.getVideoTracks();
  const off = button.getAttribute('aria-pressed') !== 'true';
  for (const tr of tracks) tr.enabled = !off;
  button.setAttribute('aria-pressed', String(off));
  button.textContent = t(off ? onKey : offKey);
}

// Sum of decoded video frames from the point (the browser tests read this through getStats).
desk.framesDecoded = async function framesDecoded(peerId) {
  const pc = desk.pcs.get(peerId || (desk.call && desk.call.point));
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
  return n;
};

// ------------------------------------------------------------------------------------------- data channel

function dcSend(msg) { if (desk.dc && desk.dc.readyState === 'open') desk.dc.send(JSON.stringify(msg)); }

function setupData(dc) {
  desk.dc = dc;
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = LOW;
  desk.incoming = null;
  dc.onmessage = (e) => {
    if (typeof e.data !== 'string') { onChunk(e.data); return; }
    const m = parseData(e.data);
    if (m) onData(m).catch((err) => console.error(err));
  };
}

// What the point may send on the data channel: the data messages of etapiste/protocol.py, field by field,
// with the same types and bounds the kiosk's parse_data enforces (unknown fields are refused there too).
// Anything else is refused with a note to the agent and never reaches the page: a size that is not a number
// would otherwise disable the overflow check, a text that is not a string would be shown as one.
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const isId = (v) => typeof v === 'string' && ID.test(v);
const isInt = (min, max) => (v) => Number.isSafeInteger(v) && v >= min && v <= (max ?? Number.MAX_SAFE_INTEGER);
const isStr = (min, max) => (v) => typeof v === 'string' && v.length >= min && v.length <= max;
const isBool = (v) => typeof v === 'boolean';
const oneOf = (...values) => (v) => values.includes(v);
const opt = (check) => (v) => v === undefined || v === null || check(v);
const req = (check) => Object.assign((v) => v !== undefined && check(v), { required: true });
const REASON = opt(isStr(0, 60));
const DATA_FIELDS = {
  rtt: { seq: req(isInt(0)), text: req(isStr(0, 2000)), final: opt(isBool) },
  // size is bounded below by the schema and above by the desk's own limit (answered too_large, as the kiosk does)
  'doc.begin': { transfer: req(isId), purpose: req(oneOf('print', 'scan')), name: req(isStr(1, 200)),
                 mime: opt(oneOf('application/pdf')), size: req(isInt(1)), sha256: req((v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) },
  'doc.end': { transfer: req(isId) },
  'doc.progress': { transfer: req(isId), received: req(isInt(0)) },
  'doc.ack': { transfer: req(isId), ok: req(isBool),
               reason: opt(oneOf('checksum_mismatch', 'size_mismatch', 'too_large', 'not_pdf', 'cancelled', 'busy')) },
  'doc.cancel': { transfer: req(isId) },
  'scan.request': { request: req(isId) },
  'scan.status': { request: req(isId), state: req(oneOf('waiting_customer', 'scanning', 'preview', 'sending', 'sent', 'declined', 'failed')),
                   pages: opt(isInt(0)), reason: REASON },
  'print.status': { transfer: req(isId), state: req(oneOf('received', 'printing', 'done', 'failed', 'cancelled')),
                    pages: opt(isInt(0)), pages_done: opt(isInt(0)), reason: REASON },
  'identity.status': { request: req(isId), state: req(oneOf('insert_card', 'enter_pin', 'signing', 'sent', 'cancelled', 'failed')), reason: REASON },
  'device.status': { device: req(oneOf('camera')), ok: req(isBool), reason: REASON },
};

function refuseFrame(kind, why) {
  desk.refusedFrames += 1;
  console.warn('refused a data-channel frame from the point:', kind, why);
  say('data_refused', { k: kind });
}

// The message in a text frame, or null (after telling the agent) when the frame breaks the protocol.
function parseData(text) {
  if (text.length > MAX_FRAME) { refuseFrame('?', 'too_large'); return null; }
  let m;
  try { m = JSON.parse(text); } catch { refuseFrame('?', 'not JSON'); return null; }
  if (!m || typeof m !== 'object' || Array.isArray(m)) { refuseFrame('?', 'not an object'); return null; }
  const fields = Object.hasOwn(DATA_FIELDS, m.type) ? DATA_FIELDS[m.type] : null;
  const kind = typeof m.type === 'string' && /^[a-z._]{1,30}$/.test(m.type) ? m.type : '?';
  if (!fields) { refuseFrame(kind, 'unknown type'); return null; }
  for (const [name, value] of Object.entries(m)) {
    if (name === 'type') continue;
    const check = name === 'ref' ? opt(isId) : (Object.hasOwn(fields, name) ? fields[name] : null);
    if (!check || !check(value)) { refuseFrame(kind, `field ${name}`); return null; }
  }
  for (const [name, check] of Object.entries(fields)) {
    if (check.required && !(name in m)) { refuseFrame(kind, `missing ${name}`); return null; }
  }
  return m;
}

async function onData(m) {
  switch (m.type) {
    case 'rtt': return onRtt(m);
    case 'doc.begin': return onDocBegin(m);
    case 'doc.end': return onDocEnd(m);
    case 'doc.ack': return onDocAck(m);
    case 'doc.progress': if (desk.outgoing && desk.outgoing.transfer === m.transfer) $('print-status').textContent = t('print_sending', { p: Math.round(100 * m.received / desk.outgoing.size) }); break;
    case 'doc.cancel': if (desk.incoming && desk.incoming.transfer === m.transfer) desk.incoming = null; break;
    case 'scan.status': $('scan-status').textContent = t(`scan_${m.state}`, { r: m.reason || '' }); break;
    case 'print.status': onPrintStatus(m); break;
    case 'identity.status': if (desk.identity) $('identity-status').textContent = t(`identity_${m.state}`, { r: m.reason || '' }); break;
    case 'device.status': if (m.device === 'camera') { $('device-status').textContent = m.ok ? '' : t('camera_down'); show('device-status', !m.ok); } break;
    default: break;
  }
}

// Real-time text: the remote's current line is replaced on each frame; a final frame commits it.
function onRtt(m) {
  if (m.final) {
    const p = document.createElement('p'); p.textContent = m.text; $('rtt-remote-lines').append(p);
    $('rtt-remote-current').textContent = '';
  } else {
    $('rtt-remote-current').textContent = m.text;
  }
}

function rttInput() { dcSend({ type: 'rtt', seq: desk.rttSeq++, text: $('rtt-input').value.slice(0, 2000), final: false }); }
function rttKey(e) {
  if (e.key !== 'Enter') return;
  e.preventDefault();
  const text = $('rtt-input').value.slice(0, 2000);
  dcSend({ type: 'rtt', seq: desk.rttSeq++, text, final: true });
  const p = document.createElement('p'); p.textContent = text; $('rtt-own-lines').append(p);
  $('rtt-input').value = '';
}

async function sha256hex(buffer) {
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
function isPdf(bytes) { return bytes.length >= 5 && String.fromCharCode(...bytes.slice(0, 5)) === '%PDF-'; }
function newId() { return Math.random().toString(36).slice(2, 12); }

function refuseDoc(m, reason) {
  dcSend({ type: 'doc.ack', transfer: m.transfer, ok: false, reason });
  const p = document.createElement('p'); p.className = 'error'; p.textContent = t('received_bad', { n: m.name, r: reason });
  $('received').append(p);
}

// The same rules as the kiosk's DocumentLink: one transfer at a time, only what this side receives (scans),
// at most MAX_DOC, chunks of at most CHUNK, never more bytes than announced.
function onDocBegin(m) {
  if (desk.incoming) { refuseDoc(m, 'busy'); return; }
  if (m.purpose !== 'scan') { refuseDoc(m, 'cancelled'); return; }
  if (m.size > MAX_DOC) { refuseDoc(m, 'too_large'); return; }
  desk.incoming = { transfer: m.transfer, name: m.name, size: m.size, sha256: m.sha256, purpose: m.purpose,
                    chunks: [], received: 0, lastProgress: 0 };
}

function onChunk(data) {
  const inc = desk.incoming; if (!inc) return;  // a chunk of no open transfer: dropped
  if (data.byteLength > CHUNK) { desk.incoming = null; refuseDoc(inc, 'too_large'); return; }
  inc.chunks.push(new Uint8Array(data)); inc.received += data.byteLength;
  if (inc.received > inc.size) { desk.incoming = null; refuseDoc(inc, 'size_mismatch'); return; }
  if (inc.received - inc.lastProgress >= LOW) { inc.lastProgress = inc.received; dcSend({ type: 'doc.progress', transfer: inc.transfer, received: inc.received }); }
}

async function onDocEnd(m) {
  const inc = desk.incoming;
  if (!inc || inc.transfer !== m.transfer) return;
  desk.incoming = null;
  const bytes = new Uint8Array(inc.received);
  let off = 0; for (const c of inc.chunks) { bytes.set(c, off); off += c.length; }
  let reason = null;
  if (inc.received !== inc.size) reason = 'size_mismatch';
  else if (await sha256hex(bytes) !== inc.sha256) reason = 'checksum_mismatch';
  else if (!isPdf(bytes)) reason = 'not_pdf';
  dcSend({ type: 'doc.ack', transfer: inc.transfer, ok: !reason, ...(reason ? { reason } : {}) });
  if (reason) { const p = document.createElement('p'); p.className = 'error'; p.textContent = t('received_bad', { n: inc.name, r: reason }); $('received').append(p); return; }
  const blob = new Blob([bytes], { type: 'application/pdf' });
  const url = URL.createObjectURL(blob);
  desk.received.push({ name: inc.name, size: inc.size, sha256: inc.sha256, url, purpose: inc.purpose });
  const p = document.createElement('p'); p.className = 'received-doc';
  p.textContent = t('received_ok', { n: inc.name, kb: Math.ceil(inc.size / 1024) }) + ' ';
  const a = document.createElement('a'); a.href = url; a.download = inc.name; a.textContent = t('open_document'); a.target = '_blank';
  p.append(a);
  const frame = document.createElement('iframe'); frame.className = 'preview'; frame.src = url; frame.title = inc.name;
  $('received').append(p, frame);
}

async function sendForPrint() {
  const file = $('print-file').files[0];
  if (!file || !desk.dc) return;
  if (file.size > MAX_DOC) { $('print-status').textContent = t('too_large'); return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!isPdf(bytes)) { $('print-status').textContent = t('not_pdf'); return; }
  const transfer = newId();
  desk.outgoing = { transfer, size: bytes.length, name: file.name };
  dcSend({ type: 'doc.begin', transfer, purpose: 'print', name: file.name.slice(0, 200) || 'document.pdf',
           mime: 'application/pdf', size: bytes.length, sha256: await sha256hex(bytes) });
  for (let off = 0; off < bytes.length; off += CHUNK) {
    if (desk.dc.bufferedAmount > HIGH) {
      await new Promise((resolve) => { desk.dc.onbufferedamountlow = () => { desk.dc.onbufferedamountlow = null; resolve(); }; });
    }
    desk.dc.send(bytes.slice(off, off + CHUNK));
  }
  dcSend({ type: 'doc.end', transfer });
  $('print-file').value = '';
}

function onDocAck(m) {
  if (!desk.outgoing || desk.outgoing.transfer !== m.transfer) return;
  $('print-status').textContent = m.ok ? t('print_received') : t('print_failed', { r: m.reason });
  if (!m.ok) desk.outgoing = null;
}

function onPrintStatus(m) {
  desk.printed.push(m);
  $('print-status').textContent = t(`print_${m.state}`, { d: m.pages_done ?? '?', t: m.pages ?? '?', r: m.reason || '' });
}

// ------------------------------------------------------------------------------------------- identity

function identify() {
  if (!desk.call) return;
  send({ type: 'identity.start', call: desk.call.id });
  $('identity-status').textContent = t('identity_waiting');
  show('identity-holder', false);
  desk.identity = 'pending';
}

function onIdentityResult(m) {
  desk.identity = null;
  if (m.ok) {
    // Proven to the other agent of a joint call and shown here only because the customer agreed on the kiosk.
    $('identity-status').textContent = m.shared_from ? t('identity_shared', { producer: producerName(m.shared_from) }) : t('identity_ok');
    $('identity-name').textContent = `${m.given_name} ${m.surname}`;
    $('identity-satu').textContent = m.satu;
    show('identity-holder', true);
  } else {
    // A known reason in the agent's language (revoked, revocation_unknown…), any other as its code.
    const known = m.reason && window.I18N.en[`identity_reason_${m.reason}`];
    $('identity-status').textContent = t('identity_failed', { r: known ? t(`identity_reason_${m.reason}`) : (m.reason || '') });
    show('identity-holder', false);
  }
}

// ------------------------------------------------------------------------------------------- transfer

// Transfer (issue 22): the customer goes to another queue (another producer's, or another of ours) placed by
// when they first queued. The switchboard refuses a closed queue or one with nobody serving it before the
// customer is moved (an error echoing TRANSFER_REF, shown in the dialog); otherwise our call ends with
// reason 'transferred'. Only a reason from the fixed list travels with the customer, never free text.
const TRANSFER_REF = 'transfer';

function producerName(id) {
  const names = (desk.producerNames || {})[id];
  return names ? (names[window.lang] || names.en || id) : id;
}

async function loadTransferTargets() {
  const resp = await fetch('/api/transfer-targets', { credentials: 'same-origin' }).catch(() => null);
  if (!resp || !resp.ok) return [];
  const targets = (await resp.json()).queues || [];
  desk.producerNames = Object.fromEntries(targets.map((q) => [q.producer, q.name]));
  return targets;
}

async function openTransfer() {
  if (!desk.call) return;
  const select = $('transfer-queue');
  select.replaceChildren(new Option(t('transfer_loading'), ''));
  $('transfer-error').textContent = '';
  $('transfer-confirm').disabled = true;
  const dialog = $('transfer-dialog');
  if (!dialog.open) dialog.showModal();
  const targets = (await loadTransferTargets()).filter((q) => q.queue !== desk.answeredQueue);
  select.replaceChildren();
  for (const q of targets) {
    // Which queues would take the customer now is shown; the switchboard checks again on transfer.
    const state = !q.open ? t('transfer_closed') : (q.agents_online ? '' : t('transfer_no_agent'));
    const option = new Option(`${producerName(q.producer)} · ${q.queue}${state ? ` (${state})` : ''}`, q.queue);
    option.dataset.producer = q.producer;
    select.append(option);
  }
  const ready = targets.find((q) => q.open && q.agents_online);
  if (ready) select.value = ready.queue;
  $('transfer-confirm').disabled = targets.length === 0;
}

function closeTransfer() {
  const dialog = $('transfer-dialog');
  if (dialog.open) dialog.close();
  desk.transferTo = null;
}

function transfer(event) {
  event.preventDefault();
  if (!desk.call || !$('transfer-queue').value) return;
  const option = $('transfer-queue').selectedOptions[0];
  desk.transferTo = option ? option.dataset.producer : null;
  $('transfer-error').textContent = '';
  send({ type: 'call.transfer', call: desk.call.id, queue: $('transfer-queue').value,
         reason: $('transfer-reason').value, ref: TRANSFER_REF });
}

function transferRefused(code) {
  // Nothing moved: the call goes on and the dialog says why, in plain words.
  const key = ['queue_closed', 'no_agent'].includes(code) ? code : 'other';
  $('transfer-error').textContent = t(`transfer_refused.${key}`);
  desk.transferRefusals = (desk.transferRefusals || 0) + 1;
}

function transferDone(to) {
  say('transfer_done', { producer: to ? producerName(to) : '' });
}

// ------------------------------------------------------------------------------------------- wiring

// Closing or leaving the page ends the call on purpose: hang up, so the customer is told now rather than after
// the minute the switchboard holds a call for a connection that dropped.
window.addEventListener('pagehide', () => { if (desk.call) send({ type: 'call.hangup', call: desk.call.id }); });

document.addEventListener('DOMContentLoaded', async () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('hangup').addEventListener('click', hangup);
  $('mute').addEventListener('click', () => toggleTrack('audio', $('mute'), 'mute', 'unmute'));
  $('camera').addEventListener('click', () => toggleTrack('video', $('camera'), 'camera_off', 'camera_on'));
  $('identify').addEventListener('click', identify);
  $('scan').addEventListener('click', () => { const request = newId(); dcSend({ type: 'scan.request', request }); $('scan-status').textContent = t('scan_waiting_customer'); });
  $('print-file').addEventListener('change', () => sendForPrint().catch((e) => console.error(e)));
  $('invite-needed').addEventListener('click', () => {
    if (!desk.call || !desk.need) return;
    send({ type: 'interpreter.invite', call: desk.call.id, language: desk.need });
    show('invite-needed', false);
    say('interpreter_invited');
  });
  $('invite-agent').addEventListener('click', inviteAgent);
  $('invite').addEventListener('click', () => {
    if (!desk.call) return;
    const language = $('interpreter-language').value.trim();
    send({ type: 'interpreter.invite', call: desk.call.id, ...(language ? { language } : {}) });
    say('interpreter_invited');
  });
  $('rtt-input').addEventListener('input', rttInput);
  $('rtt-input').addEventListener('keydown', rttKey);
  $('transfer').addEventListener('click', () => openTransfer().catch((e) => console.error(e)));
  $('transfer-cancel').addEventListener('click', closeTransfer);
  $('transfer-form').addEventListener('submit', transfer);
  const resp = await fetch('/api/me', { credentials: 'same-origin' }).catch(() => null);
  if (resp && resp.ok) enter(await resp.json());
});
