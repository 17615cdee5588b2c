// The dashboard (served at /dashboard): an admin or a responder signs in with an API token (or
// a user name and the password `sosproxy token password` set for that token) and sees the emergency calls of their sites live (GET /api/v1/events, Server-Sent Events: a
// snapshot, then each change), the trunks, the location-tracking figures (admins: GET
// /api/v1/dashboard/location-tracking) and the call history (GET /api/v1/calls). The token is
// sent once, to POST /api/v1/session, and is not kept: the browser holds the session's HttpOnly
// cookie, and this page the session's CSRF token (in memory only), which it sends as
// X-CSRF-Token with every request that is not a read (an acknowledgement). Plain DOM, no
// framework; the page's Content-Security-Policy allows this origin's scripts only, so nothing
// here is inline.
'use strict';

const TRACKING_PATH = '/api/v1/dashboard/location-tracking';
const FOUND_BY = {
  'bssid': 'Wi-Fi access point',
  'chassis-port': 'switch port',
  'chassis': 'switch',
  'subnet': 'company subnet',
  'personal-network': 'personal address\'s network',
  'personal-confirmed': 'confirmed personal address (no network match)',
  'site-default': 'site default',
  'account-default': 'account default',
  'device-supplied': 'the device\'s own location',
};

const $ = (id) => document.getElementById(id);
let csrf = '';
let sitesFilled = false;
let session = null;

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// One call to the API with the session cookie; the answer's JSON, or an ApiError.
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'sosproxy could not be reached (' + e.message + ').');
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const said = data && typeof data.error === 'string' ? ': ' + data.error : '';
    throw new ApiError(response.status, 'sosproxy answered HTTP ' + response.status + said);
  }
  return data;
}

function say(text) {
  $('status').textContent = text;
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

function signedOut() {
  csrf = '';
  sitesFilled = false;
  session = null;
  stopLive();
  calls = new Map();
  firstSnapshot = true;
  quietAlarm();
  renderCalls();
  for (const id of ['sections', 'calls', 'trunks', 'history']) $(id).hidden = true;
  $('tracking').hidden = true;
  $('who').hidden = true;
  $('who-text').textContent = '';
  $('sign-in').hidden = false;
  for (const id of ['site', 'history-site']) {
    const select = $(id);
    while (select.options.length > 1) select.remove(1);
  }
}

function failed(e) {
  if (e.status === 401) signedOut();
  say('');
  showError(e.message);
}

function isAdmin() {
  return session && (session.role === 'super-admin' || session.role === 'site-admin');
}

function signedIn(s) {
  session = s;
  csrf = s.csrf;
  const sites = s.sites && s.sites.length ? ' of ' + s.sites.join(', ') : '';
  $('who-text').textContent = 'Signed in as ' + s.name + ' (' + s.role + sites + ')';
  $('who').hidden = false;
  $('sign-in').hidden = true;
  for (const id of ['sections', 'calls', 'trunks', 'history']) $(id).hidden = false;
  // Location tracking is an admin's; a responder follows the calls.
  $('tracking').hidden = !isAdmin();
  $('nav-tracking').hidden = !isAdmin();
}

// The figures' charts (Chart.js, served by sosproxy at /chart.min.js), made at the first
// figures and updated in place after.
const COLORS = {yes: '#1f5fa8', no: '#d0d0d0', company: '#1f7a3a', personal: '#1f5fa8',
  unknown: '#b0451f'};
const charts = {};

// A doughnut of `values` (in `labels`' order).
function pie(id, labels, values, colors) {
  if (charts[id]) {
    charts[id].data.datasets[0].data = values;
    charts[id].update();
    return;
  }
  charts[id] = new Chart($(id), {
    type: 'doughnut',
    data: {labels, datasets: [{data: values, backgroundColor: colors}]},
    options: {animation: false, responsive: false, plugins: {legend: {position: 'right'}}},
  });
}

// Where users and IP phones are now: one stacked bar each.
function nowChart(now) {
  const id = 'now-chart';
  const wheres = ['company', 'personal', 'unknown'];
  const data = (where) => [now.users.counts[where], now.phones.counts[where]];
  if (charts[id]) {
    wheres.forEach((where, i) => { charts[id].data.datasets[i].data = data(where); });
    charts[id].update();
    return;
  }
  charts[id] = new Chart($(id), {
    type: 'bar',
    data: {
      labels: ['Users', 'IP phones'],
      datasets: wheres.map((where) => ({label: where, data: data(where),
        backgroundColor: COLORS[where]})),
    },
    options: {animation: false, responsive: false, indexAxis: 'y',
      scales: {x: {stacked: true, ticks: {precision: 0}}, y: {stacked: true}}},
  });
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function age(ms) {
  if (ms === null || ms === undefined) return 'no report';
  const s = Math.round(ms / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}

function person(e) {
  return e.user + (e.name ? ' ' + e.name : '');
}

function people(id, entries) {
  const items = entries.map((e) => {
    const li = document.createElement('li');
    li.textContent = person(e) + ' (' + e.site + ')';
    return li;
  });
  $(id).replaceChildren(...items);
}

function nowRows(id, entries) {
  const rows = entries.map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.user = e.user;
    if (e.device) tr.dataset.device = e.device;
    const ask = cell(tr, '');
    if (id === 'now-users-list') {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'ask';
      box.value = e.user;
      box.setAttribute('aria-label', 'Ask ' + e.user + ' again');
      ask.appendChild(box);
    }
    cell(tr, person(e));
    cell(tr, e.device || '');
    cell(tr, e.network || 'none');
    cell(tr, e.location ? e.location.name + ' (' + e.location.address + ')' : 'unknown');
    cell(tr, (FOUND_BY[e.found_by] || e.found_by) + (e.evidence ? ': ' + e.evidence : ''));
    cell(tr, age(e.age_ms));
    cell(tr, e.where, 'where-' + e.where);
    const act = cell(tr, '');
    // A network seen away from any company location may be one: attach it to one.
    if (e.where !== 'company' && (e.ip || e.bssid)) {
      const attach = document.createElement('button');
      attach.type = 'button';
      attach.className = 'attach-open';
      attach.textContent = 'Attach network';
      attach.addEventListener('click', () => openAttach(e).catch(failed));
      act.appendChild(attach);
    }
    return tr;
  });
  $(id).replaceChildren(...rows);
}

function show(t) {
  $('nomadic-count').textContent = t.nomadic.count;
  $('nomadic-of').textContent = t.nomadic.of;
  pie('nomadic-chart', ['enabled', 'not enabled'], [t.nomadic.count, t.nomadic.of - t.nomadic.count],
    [COLORS.yes, COLORS.no]);
  people('nomadic-list', t.nomadic.entries);

  $('sharing-count').textContent = t.sharing.count;
  $('sharing-of').textContent = t.sharing.of;
  pie('sharing-chart', ['allow', 'do not allow'], [t.sharing.count, t.sharing.of - t.sharing.count],
    [COLORS.yes, COLORS.no]);
  people('sharing-list', t.sharing.entries);

  const a = t.emergency_address;
  $('address-personal').textContent = a.personal;
  $('address-default').textContent = a.default;
  pie('address-chart', ['personal', 'default'], [a.personal, a.default],
    [COLORS.personal, COLORS.no]);
  $('address-list').replaceChildren(...a.entries.map((e) => {
    const tr = document.createElement('tr');
    cell(tr, person(e));
    cell(tr, e.site);
    cell(tr, e.address);
    cell(tr, e.location || '');
    return tr;
  }));

  const p = t.personal_locations;
  $('personal-detectable').textContent = p.detectable;
  $('personal-not-detectable').textContent = p.not_detectable;
  pie('personal-chart', ['detectable', 'not detectable'], [p.detectable, p.not_detectable],
    [COLORS.yes, COLORS.no]);
  $('personal-list').replaceChildren(...p.entries.map((e) => {
    const tr = document.createElement('tr');
    cell(tr, e.name + ' (' + e.key + ')');
    cell(tr, e.user);
    cell(tr, e.site);
    cell(tr, e.networks.concat(e.bssids).join(', ') || 'none');
    return tr;
  }));

  for (const kind of ['users', 'phones']) {
    const n = t.now[kind];
    for (const where of ['company', 'personal', 'unknown']) {
      $('now-' + kind + '-' + where).textContent = n.counts[where];
    }
    nowRows('now-' + kind + '-list', n.entries);
  }
  nowChart(t.now);
  $('tracking-at').textContent = 'as of ' + new Date(t.at_ms).toLocaleString();
}

// The site filters: a site-admin's or responder's own sites, or a super-admin's every site.
async function fillSites(s) {
  if (sitesFilled) return;
  let names = s.sites || [];
  if (s.role === 'super-admin') {
    const list = await api('GET', '/api/v1/sites?limit=1000');
    names = list.sites.map((r) => r.name);
  }
  for (const id of ['site', 'history-site']) {
    const select = $(id);
    for (const name of names) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    }
  }
  sitesFilled = true;
}

async function refresh() {
  const site = $('site').value;
  say('Loading…');
  const t = await api('GET', TRACKING_PATH + (site ? '?site=' + encodeURIComponent(site) : ''));
  show(t);
  await loadQueue();
  say('');
  showError('');
}

// ---- Actions from the lists (admins; the API scopes each to the admin's sites) ----

let attachFor = null;  // the list entry whose network the attach form is about

// Ask users again where they are (POST /api/v1/prompts/retrigger).
async function retrigger(users) {
  if (!users.length) {
    $('retrigger-result').textContent = 'Select a user first.';
    return;
  }
  const done = await api('POST', '/api/v1/prompts/retrigger', {users});
  await answerAfterRefresh('retrigger-result', 'Asked again: ' + done.reset.join(', ') +
    (done.emailed.length ? ' (e-mailed: ' + done.emailed.join(', ') + ')' : ''));
}

// Shows an action's answer in element `id` once the lists are redrawn with its change, so that
// what is read or clicked after the answer appears is the new list (a row typed into just before
// a redraw would lose its text); shown too when the redraw fails, whose error then follows.
async function answerAfterRefresh(id, text) {
  try {
    await refresh();
  } finally {
    $(id).textContent = text;
  }
}

// The network of a list entry as a location takes it: its BSSID, else its IP as a /32.
function networkOf(e) {
  return e.bssid || (e.ip ? e.ip + '/32' : '');
}

function networkBody(text) {
  return text.includes('/') || !text.includes(':') ? {subnet: text} : {bssid: text};
}

function fillLocations(id, locations) {
  $(id).replaceChildren(...locations.map((l) => {
    const option = document.createElement('option');
    option.value = l.key;
    option.textContent = l.name + ' (' + l.key + ')';
    return option;
  }));
}

let siteLocations = [];

async function openAttach(e) {
  attachFor = e;
  const list = await api('GET', '/api/v1/locations?limit=1000&site=' + encodeURIComponent(e.site));
  siteLocations = list.locations;
  fillLocations('attach-location', siteLocations);
  fillLocations('create-like', siteLocations);
  $('attach-what').textContent = 'seen by ' + person(e) + ' (site ' + e.site + ')';
  $('attach-network').value = networkOf(e);
  for (const id of ['create-name', 'create-floor', 'create-room']) $(id).value = '';
  $('attach-result').textContent = '';
  $('attach').hidden = false;
  $('attach').scrollIntoView({block: 'nearest'});
}

async function attachNetwork() {
  const key = $('attach-location').value;
  const network = $('attach-network').value.trim();
  await api('POST', '/api/v1/locations/' + encodeURIComponent(key) + '/networks',
    networkBody(network));
  await answerAfterRefresh('attach-result', network + ' attached to ' + key + '.');
}

// A new company location at another's address (its floor and room as given), with the network.
async function createWithNetwork() {
  const name = $('create-name').value.trim();
  const like = siteLocations.find((l) => l.key === $('create-like').value);
  if (!name || !like) {
    $('attach-result').textContent = 'Give the new location a name and an address to copy.';
    return;
  }
  const civic = Object.assign({}, like.civic);
  delete civic.FLR;
  delete civic.ROOM;
  if ($('create-floor').value.trim()) civic.FLR = $('create-floor').value.trim();
  if ($('create-room').value.trim()) civic.ROOM = $('create-room').value.trim();
  const key = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const network = networkBody($('attach-network').value.trim());
  const body = {key, name, kind: 'company', site: attachFor.site, civic};
  if (network.subnet) body.subnets = [network.subnet];
  if (network.bssid) body.bssids = [network.bssid];
  await api('POST', '/api/v1/locations', body);
  await answerAfterRefresh('attach-result', 'Location ' + key + ' created with ' +
    (network.subnet || network.bssid) + '.');
}

// The approval queue (GET /api/v1/location-requests?state=pending).
async function loadQueue() {
  const answer = await api('GET', '/api/v1/location-requests?state=pending');
  const site = $('site').value;
  const pending = answer.requests.filter((r) => !site || r.site === site);
  $('queue-list').replaceChildren(...pending.map(queueRow));
  $('queue-none').hidden = pending.length > 0;
}

function queueRow(r) {
  const tr = document.createElement('tr');
  tr.dataset.requestId = r.id;
  const f = r.fields || {};
  cell(tr, when(r.submitted_at_ms));
  cell(tr, r.extension);
  cell(tr, r.site);
  cell(tr, r.name);
  cell(tr, ['HNO', 'RD', 'STS', 'FLR', 'ROOM', 'A3', 'PC', 'country']
    .filter((k) => f[k]).map((k) => f[k]).join(' '));
  cell(tr, [f.subnets, f.bssids, f.switches].filter((v) => v).join('; '));
  const decide = cell(tr, '');
  const approve = document.createElement('button');
  approve.type = 'button';
  approve.className = 'approve';
  approve.textContent = 'Approve';
  approve.addEventListener('click', () => decideRequest(r, 'approve', {}).catch(failed));
  const reason = document.createElement('input');
  reason.className = 'reason';
  reason.placeholder = 'Why not';
  reason.setAttribute('aria-label', 'Reason to reject ' + r.name);
  const reject = document.createElement('button');
  reject.type = 'button';
  reject.className = 'reject';
  reject.textContent = 'Reject';
  reject.addEventListener('click', () => {
    if (!reason.value.trim()) {
      $('queue-result').textContent = 'Say why it is rejected.';
      return;
    }
    decideRequest(r, 'reject', {reason: reason.value.trim()}).catch(failed);
  });
  decide.append(approve, ' ', reason, ' ', reject);
  return tr;
}

async function decideRequest(r, action, body) {
  const done = await api('POST', '/api/v1/location-requests/' + r.id + '/' + action, body);
  await answerAfterRefresh('queue-result', action === 'approve'
    ? '"' + r.name + '" approved as location ' + done.location + '.'
    : '"' + r.name + '" rejected.');
}

async function start(s) {
  signedIn(s);
  startLive();
  try {
    await fillSites(s);
  } catch (e) {
    // The filter is a convenience: the figures still load for all of the admin's sites.
    showError('The list of sites could not be read: ' + e.message);
  }
  if (isAdmin()) await refresh();
  await searchHistory();
  say('');
}

// ---- Emergency calls, live (GET /api/v1/events) ----

const EVENTS_PATH = '/api/v1/events';
const RECENT_SHOWN = 100;
const STATE_TEXT = {
  'ringing': 'calling the PSAP',
  'answered': 'answered: in progress',
  'callback': 'PSAP callback',
  'ended': 'ended',
  'refused': 'REFUSED at the edge',
};
let events = null;
let calls = new Map();  // by Call-ID, as the last message said
const firstShown = new Map();  // by Call-ID: when this page first drew the call (Unix ms)
let firstSnapshot = true;
let alarmCall = null;  // the Call-ID the banner is about
let audio = null;

function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : '';
}

function when(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function liveStatus(text, on) {
  $('live-status').textContent = text;
  $('live-status').className = on ? 'live-on' : 'live-off';
}

function startLive() {
  stopLive();
  liveStatus('connecting…', false);
  events = new EventSource(EVENTS_PATH);
  events.addEventListener('open', () => liveStatus('live', true));
  events.addEventListener('error', () => {
    if (!events) return;
    if (events.readyState === EventSource.CLOSED) {
      // Refused: signed out or the token revoked (the session says so), else (too many pages
      // follow the calls, sosproxy restarting) try again in a while.
      liveStatus('not connected: trying again in 5 s', false);
      api('GET', '/api/v1/session').then(() => setTimeout(() => {
        if (session && (!events || events.readyState === EventSource.CLOSED)) startLive();
      }, 5000), failed);
    } else {
      liveStatus('reconnecting…', false);
    }
  });
  events.addEventListener('snapshot', (m) => onSnapshot(JSON.parse(m.data)));
  events.addEventListener('calls', (m) => onCalls(JSON.parse(m.data).calls, true));
  events.addEventListener('trunks', (m) => showTrunks(JSON.parse(m.data).trunks));
  events.addEventListener('signed-out', () => {
    stopLive();
    signedOut();
    showError('The session has ended: sign in again.');
  });
}

function stopLive() {
  if (events) events.close();
  events = null;
}

function onSnapshot(snapshot) {
  const known = calls;
  calls = new Map();
  // After a reconnection or a lost message, a call not seen before still rings the alarm.
  onCalls(snapshot.calls, !firstSnapshot, known);
  firstSnapshot = false;
  showTrunks(snapshot.trunks);
  const lost = snapshot.events_lost || 0;
  $('live-warning').hidden = lost === 0;
  $('live-warning').textContent = lost === 0 ? '' : lost +
    ' call events could not be passed on since sosproxy started (it was overloaded): a call ' +
    'may be shown out of date. The calls themselves were not affected.';
}

function onCalls(list, alarms, known = calls) {
  const fresh = [];
  for (const call of list) {
    const isNew = !known.has(call.call_id);
    calls.set(call.call_id, call);
    if (isNew) fresh.push(call.call_id);
    // A call that ended before this page heard of it (refused, hung up at once) rings too.
    if (alarms && isNew && !call.acknowledged_by) alarm(call);
    if (call.call_id === alarmCall && call.acknowledged_by) quietAlarm();
  }
  renderCalls(alarms ? fresh : []);
}

// The call's moments ("MS what happened"), each with its time of day.
function storyLines(call) {
  return call.story.map((line) => {
    const space = line.indexOf(' ');
    return clock(Number(line.slice(0, space))) + ' ' + line.slice(space + 1);
  });
}

function caller(call) {
  return call.caller.extension + (call.caller.name ? ' ' + call.caller.name : '');
}

function alarm(call) {
  alarmCall = call.call_id;
  $('new-call-text').textContent = (call.test ? '[TEST] ' : '') + call.dialed + ' from ' +
    caller(call) + ' at ' + (call.location.name || 'an unknown place') + ' (' + call.site +
    '), to ' + (call.trunk || 'no PSAP') + ' at ' + clock(call.started_at_ms);
  $('new-call-ack').hidden = !call.alerted;
  $('new-call-ack').disabled = false;
  $('new-call').hidden = false;
  document.title = '(!) Emergency call — sosproxy dashboard';
  if ($('sound').checked) beep();
}

function quietAlarm() {
  alarmCall = null;
  $('new-call').hidden = true;
  document.title = 'sosproxy dashboard';
}

// Three short tones (Web Audio: no sound file to load).
function beep() {
  try {
    if (!audio) audio = new AudioContext();
    for (let i = 0; i < 3; i++) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      const at = audio.currentTime + i * 0.35;
      tone.start(at);
      tone.stop(at + 0.2);
    }
  } catch (e) {
    // No sound here (no audio device): the banner is the alert.
  }
}

function alertsText(call) {
  if (!call.alerted) return 'no responder';
  const a = call.alerts;
  const all = a.pending + a.retrying + a.delivered + a.given_up;
  let text = a.delivered + '/' + all + ' delivered';
  if (a.retrying) text += ', ' + a.retrying + ' retrying';
  if (a.pending) text += ', ' + a.pending + ' pending';
  if (a.given_up) text += ', ' + a.given_up + ' given up';
  if (call.escalated_tier > 1) text += '; tier ' + call.escalated_tier + ' alerted';
  return text;
}

function deliveriesTitle(call) {
  return call.deliveries.map((d) => d.event + ' tier ' + d.tier + ' ' + d.channel + ' ' +
    d.target + ': ' + d.state + (d.last_error ? ' (' + d.last_error + ')' : '')).join('\n');
}

function mayAcknowledge() {
  return session && ['super-admin', 'site-admin', 'responder'].includes(session.role);
}

async function acknowledge(callId, button) {
  button.disabled = true;
  button.textContent = 'Acknowledging…';
  try {
    await api('POST', '/api/v1/calls/' + encodeURIComponent(callId) + '/acknowledge', {});
    showError('');
    // The acknowledgement comes back as the call's next message.
  } catch (e) {
    button.disabled = false;
    button.textContent = 'Acknowledge';
    failed(e);
  }
}

function callRow(call, fresh) {
  const tr = document.createElement('tr');
  tr.dataset.callId = call.call_id;
  if (!firstShown.has(call.call_id)) firstShown.set(call.call_id, Date.now());
  tr.dataset.shownAt = String(firstShown.get(call.call_id));
  tr.className = (call.in_progress ? 'in-progress' : 'over') +
    (call.acknowledged_by ? ' acknowledged' : '') + (fresh ? ' fresh' : '');
  cell(tr, clock(call.started_at_ms));
  cell(tr, caller(call) + (call.callback_number ? ' (callback ' + call.callback_number + ')' : ''),
    'caller');
  cell(tr, (call.test ? '[TEST] ' : '') + call.dialed);
  cell(tr, call.site);
  const where = document.createElement('td');
  where.className = 'location';
  where.textContent = call.location.name || 'unknown';
  if (call.location.address) {
    const small = document.createElement('div');
    small.className = 'small';
    small.textContent = call.location.address;
    where.appendChild(small);
  }
  where.title = call.location.found_by ? 'found by ' + call.location.found_by : '';
  tr.appendChild(where);
  cell(tr, call.trunk || 'none', 'trunk');
  // One attempt a line: "il-psap-a:503", then "il-psap-b:200".
  cell(tr, (call.attempts || (call.trunk ? call.trunk + ': trying' : '')).split(' ').join('\n'),
    'attempts');
  cell(tr, (STATE_TEXT[call.state] || call.state) +
    (call.outcome && call.state !== 'answered' ? ' (' + call.outcome + ')' : ''),
  'state state-' + call.state);
  const alerts = document.createElement('td');
  alerts.className = 'alerts';
  alerts.textContent = alertsText(call);
  alerts.title = deliveriesTitle(call);
  tr.appendChild(alerts);
  const ack = document.createElement('td');
  ack.className = 'acknowledged';
  if (call.acknowledged_by) {
    ack.textContent = 'by ' + call.acknowledged_by + ' at ' + clock(call.acknowledged_at_ms);
  } else if (call.alerted && mayAcknowledge()) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'ack';
    button.textContent = 'Acknowledge';
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      acknowledge(call.call_id, button);
    });
    ack.appendChild(button);
  } else {
    ack.textContent = call.alerted ? 'no' : '';
  }
  tr.appendChild(ack);
  tr.title = storyLines(call).join('\n');
  tr.addEventListener('click', () => showStory(call.call_id));
  return tr;
}

function renderCalls(freshIds = []) {
  const all = [...calls.values()].sort((a, b) => b.started_at_ms - a.started_at_ms);
  const active = all.filter((c) => c.in_progress);
  const recent = all.filter((c) => !c.in_progress).slice(0, RECENT_SHOWN);
  // Calls beyond what is shown are let go.
  for (const c of all.filter((x) => !x.in_progress).slice(RECENT_SHOWN)) {
    calls.delete(c.call_id);
    firstShown.delete(c.call_id);
  }
  $('calls-active').replaceChildren(...active.map((c) => callRow(c, freshIds.includes(c.call_id))));
  $('calls-recent').replaceChildren(...recent.map((c) => callRow(c, freshIds.includes(c.call_id))));
  $('calls-active-none').hidden = active.length > 0;
  $('calls-recent-none').hidden = recent.length > 0;
}

// ---- Trunks ----

function showTrunks(trunks) {
  if (!trunks) return;
  $('trunks-list').replaceChildren(...trunks.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.trunk = t.name;
    if (t.state === 'down') tr.className = 'trunk-is-down';
    cell(tr, t.name, 'name');
    cell(tr, t.carrier ? 'carrier' : 'PSAP');
    cell(tr, t.target + ' (' + t.transport + ', ' + t.mode + ')');
    cell(tr, t.state, 'state trunk-' + t.state.replace(' ', '-'));
    cell(tr, t.changed_at_ms ? when(t.changed_at_ms) + (t.why ? ': ' + t.why : '') : '');
    cell(tr, !t.probed ? 'not probed' : t.last_probe_at_ms
      ? when(t.last_probe_at_ms) + ': ' + t.last_probe + ' (every ' + t.options_interval_s + ' s)'
      : 'none yet', 'probe');
    cell(tr, t.last_failover_at_ms ? when(t.last_failover_at_ms) + ': ' + t.last_failover +
      (t.failovers > 1 ? ' (' + t.failovers + ' since start)' : '') : 'none since start',
    'failover');
    return tr;
  }));
}

// ---- Call history (GET /api/v1/calls) ----

function historyPath(format) {
  const q = new URLSearchParams();
  const since = $('history-since').value;
  const until = $('history-until').value;
  if (since) q.set('since', String(new Date(since).getTime()));
  if (until) q.set('until', String(new Date(until).getTime()));
  for (const [id, key] of [['history-site', 'site'], ['history-emergency', 'emergency'],
    ['history-outcome', 'outcome']]) {
    if ($(id).value) q.set(key, $(id).value);
  }
  q.set('limit', '200');
  if (format) q.set('format', format);
  return '/api/v1/calls?' + q.toString();
}

async function searchHistory() {
  $('history-csv').href = historyPath('csv');
  const answer = await api('GET', historyPath());
  $('history-list').replaceChildren(...answer.calls.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.callId = r.call_id;
    cell(tr, when(r.started_at_ms));
    cell(tr, r.caller);
    cell(tr, (r.test ? '[TEST] ' : '') + r.dialed);
    cell(tr, r.site);
    cell(tr, r.emergency ? 'yes' : 'no');
    cell(tr, r.location);
    cell(tr, r.trunk);
    cell(tr, r.attempts);
    cell(tr, r.outcome + ' ' + r.status);
    tr.addEventListener('click', () => showStory(r.call_id));
    return tr;
  }));
  $('history-none').hidden = answer.calls.length > 0;
}

function fact(dl, term, value) {
  if (value === undefined || value === null || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dl.append(dt, dd);
}

// A call's full story: its record(s), the live view's moments, its alert and every delivery.
async function showStory(callId) {
  const dl = $('story-record');
  const live = calls.get(callId);
  let answer = null;
  try {
    answer = await api('GET', '/api/v1/calls/' + encodeURIComponent(callId));
  } catch (e) {
    if (e.status !== 404 || !live) return failed(e);
  }
  dl.replaceChildren();
  fact(dl, 'Call-ID', callId);
  for (const r of answer ? answer.records : []) {
    fact(dl, 'Started', when(r.started_at_ms));
    fact(dl, 'Caller', r.caller + (live && live.caller.name ? ' ' + live.caller.name : ''));
    fact(dl, 'Dialed', (r.test ? '[TEST] ' : '') + r.dialed + (r.emergency ? ' (emergency)' : ''));
    fact(dl, 'Site', r.site);
    fact(dl, 'Location', r.location);
    fact(dl, 'Found by', r.location_by);
    fact(dl, 'ELIN sent', r.elin);
    fact(dl, 'PIDF-LO', r.pidf);
    fact(dl, 'Route', r.route);
    fact(dl, 'Attempts', r.attempts);
    fact(dl, 'Outcome', r.outcome + ' ' + r.status + ' after ' + Math.round(r.duration_ms) +
      ' ms' + (r.ended_at_ms ? ' at ' + when(r.ended_at_ms) : ''));
    fact(dl, 'Why', r.reason);
  }
  if (live) {
    fact(dl, 'Address sent', live.location.address);
    fact(dl, 'Callback number', live.callback_number);
    fact(dl, 'As it happened', storyLines(live).join(' · '));
  }
  const alert = answer ? answer.alert : null;
  $('story-alert').textContent = !alert ? 'No responder was alerted.'
    : 'First alert at ' + when(alert.first_event_at_ms) + '; tier ' + alert.escalated_tier +
      ' alerted last; ' + (alert.acknowledged_by ? 'acknowledged by ' + alert.acknowledged_by +
      ' at ' + when(alert.acknowledged_at_ms) : 'not acknowledged') + '.';
  $('story-deliveries').replaceChildren(...(answer ? answer.deliveries : []).map((d) => {
    const tr = document.createElement('tr');
    for (const v of [d.event, d.tier, d.channel, d.target, d.state, d.attempts, d.last_error]) {
      cell(tr, String(v));
    }
    return tr;
  }));
  $('story').hidden = false;
  $('story').scrollIntoView({block: 'nearest'});
}

document.addEventListener('DOMContentLoaded', () => {
  const signIn = async (body) => {
    showError('');
    say('Signing in…');
    try {
      await start(await api('POST', '/api/v1/session', body));
    } catch (e) {
      failed(e);
    }
  };
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    signIn({token});
  });
  $('password-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {username: $('username').value.trim(), password: $('password').value};
    $('password').value = '';
    signIn(body);
  });
  $('sign-out').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session');
    } catch (e) {
      // Signed out on this page whatever the server says; the cookie ends with its session.
    }
    signedOut();
    say('Signed out.');
  });
  $('filter').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await refresh();
    } catch (e) {
      failed(e);
    }
  });
  $('history-filter').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await searchHistory();
    } catch (e) {
      failed(e);
    }
  });
  for (const id of ['history-since', 'history-until', 'history-site', 'history-emergency',
    'history-outcome']) {
    $(id).addEventListener('change', () => { $('history-csv').href = historyPath('csv'); });
  }
  $('new-call-ack').addEventListener('click', () => {
    if (alarmCall) acknowledge(alarmCall, $('new-call-ack'));
  });
  $('new-call-dismiss').addEventListener('click', () => quietAlarm());
  $('retrigger-selected').addEventListener('click', () => {
    const users = [...document.querySelectorAll('#now-users-list input.ask:checked')]
      .map((box) => box.value);
    retrigger(users).catch(failed);
  });
  $('retrigger-all').addEventListener('click', () => {
    const users = [...document.querySelectorAll('#now-users-list tr')].map((r) => r.dataset.user);
    retrigger(users).catch(failed);
  });
  $('attach-submit').addEventListener('click', () => attachNetwork().catch(failed));
  $('create-submit').addEventListener('click', () => createWithNetwork().catch(failed));
  $('attach-cancel').addEventListener('click', () => { $('attach').hidden = true; });
  $('attach').addEventListener('submit', (event) => event.preventDefault());
  // Browsers let a page play sound once the user has interacted with it.
  document.addEventListener('click', () => {
    if (audio && audio.state === 'suspended') audio.resume();
  });
  // Already signed in (a reload of the page): the cookie's session, if it is still open.
  api('GET', '/api/v1/session').then(start, () => signedOut()).catch(failed);
});
