// "My emergency location" (served at /me): a user signs in with their device token and sees
// where their next 911 would say they are, is asked at first use whether sosproxy may use their
// device's network (and changes that later), answers their latest report's prompt, adds an
// address and deletes their personal addresses. The page holds no data: everything comes from
// the admin API (GET /api/v1/me, POST /api/v1/me/prompt-answer, /api/v1/personal-locations),
// called with the token as "Authorization: Bearer". The token stays in this tab's
// sessionStorage and never goes into a URL: a "#token=" fragment (never sent to a server) only
// fills in the sign-in form. Plain DOM, no framework; the page's Content-Security-Policy allows
// this origin's scripts only, so nothing here is inline.
'use strict';

const TOKEN_KEY = 'sosproxy-token';
// The fields of the address form, as the API names them (RFC 5139 elements).
const ADDRESS_FIELDS = ['name', 'HNO', 'RD', 'A3', 'A1', 'PC', 'country'];
// How the location was found (GET /api/v1/me's location.found_by), in plain words.
const FOUND_BY = {
  'device-supplied': 'the location your phone sent with the call',
  'bssid': 'the Wi-Fi access point your device sees',
  'chassis-port': 'the network switch port your phone is plugged into',
  'chassis': 'the network switch your phone is connected to',
  'subnet': 'the company network your device is on',
  'personal-network': 'your personal address for the network you are on',
  'personal-confirmed': 'your confirmed personal address',
  'site-default': 'your site\'s default location: sosproxy does not know where you are',
  'account-default': 'the company\'s default location: sosproxy does not know where you are',
};
const REQUEST_STATES = {
  pending: 'waiting for approval',
  approved: 'approved',
  rejected: 'rejected',
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// What an error answer means, in plain words, with the API's own message.
function explain(status, data) {
  const said = data && typeof data.error === 'string' ? data.error : '';
  const quoted = said ? ': ' + said : '';
  switch (status) {
    case 401:
      return 'Your token was refused (HTTP 401' + quoted + '). Check it, or ask your ' +
          'administrator for a new one, and sign in again.';
    case 403:
      return 'Your token may not do this (HTTP 403' + quoted + ').';
    case 404:
      return 'Not found (HTTP 404' + quoted + ').';
    case 409:
      return 'This cannot be done now (HTTP 409' + quoted + ').';
    case 412:
      return 'It changed since this page showed it (HTTP 412' + quoted + ').';
    case 400:
      return 'Not saved: sosproxy found a problem in it (HTTP 400' + quoted + ').';
    case 503:
      return 'sosproxy cannot do this right now (HTTP 503' + quoted + '). Try again in a moment.';
    default:
      return 'sosproxy answered HTTP ' + status + quoted + '.';
  }
}

// One call to the API with the token: the answer's JSON and its ETag, or an ApiError.
async function call(method, path, body, headers) {
  const sent = Object.assign({Authorization: 'Bearer ' + token()}, headers || {});
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'sosproxy could not be reached (' + e.message + '). Check your ' +
        'network connection and try again.', null);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, explain(response.status, data), data);
  return {data, etag: response.headers.get('ETag')};
}

// One call to the API with the token; the answer's JSON, or an ApiError.
async function api(method, path, body, headers) {
  return (await call(method, path, body, headers)).data;
}

function say(text) {
  $('status').textContent = text;
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

const DATA_SECTIONS = ['sharing-ask', 'nomadic-off', 'location', 'sharing', 'prompt', 'address',
  'personal', 'submitted'];

// Back to the sign-in form, with nothing of the user's on the page.
function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of DATA_SECTIONS) $(id).hidden = true;
  for (const id of ['location-name', 'location-address', 'location-found-by', 'location-report',
    'location-evidence', 'prompt-text', 'who-text', 'nomadic-off-text', 'sharing-state']) {
    $(id).textContent = '';
  }
  $('personal-list').replaceChildren();
  $('submitted-list').replaceChildren();
  $('who').hidden = true;
  $('sign-in').hidden = false;
}

// An error of a call made while signed in: a refused token signs out.
function failed(e) {
  if (e.status === 401) signOut();
  say('');
  showError(e.message);
}

function civicLine(r) {
  const street = [r.HNO, r.HNS, r.PRD, r.RD, r.STS, r.POD].filter(Boolean).join(' ');
  const region = [r.A1, r.PC].filter(Boolean).join(' ');
  return [street, r.A3, region, r.country].filter(Boolean).join(', ');
}

function reportLine(report) {
  if (!report) return 'none yet: your phone has not reported the network it is on';
  const parts = [];
  if (report.ip) parts.push('IP address ' + report.ip);
  if (report.bssid) parts.push('Wi-Fi access point ' + report.bssid);
  if (report.chassis) parts.push('switch ' + report.chassis + (report.port ? ' port ' + report.port : ''));
  let line = parts.join(', ') || 'no network data';
  line += ', ' + new Date(report.reported_at_ms).toLocaleString();
  if (report.network_provided) line += ' (seen by the company network)';
  return line;
}

// A personal address's state in words: confirmed or not, held for one emergency until when.
function personalState(record) {
  let state = record.confirmed ? 'confirmed' : 'not confirmed';
  const until = Number(record.hold_until_ms || 0);
  if (until > 0) {
    state += until > Date.now() ?
        '; for this emergency only, until ' + new Date(until).toLocaleString() :
        '; was for one emergency only, ended ' + new Date(until).toLocaleString();
  }
  const networks = record.networks.concat(record.bssids);
  if (networks.length) state += '; for network ' + networks.join(', ');
  return state;
}

// The location sharing question at first use, the control that changes the answer, and what it
// means for the next 911.
function showSharing(me) {
  const asked = me.location_permission_asked;
  const wasHidden = $('sharing-ask').hidden;
  $('sharing-ask').hidden = asked;
  if (!asked && wasHidden) $('sharing-ask-title').focus();
  $('sharing-toggle').checked = me.location_permission;
  $('sharing-state').textContent = (me.location_permission ?
    'On: sosproxy uses the network your device reports to find where you are.' :
    'Off: sosproxy does not use your device\'s network.') +
      (asked ? ' You chose this on ' +
        new Date(me.location_permission_answered_at_ms).toLocaleString() + '.' :
        ' Your administrator\'s setting: you have not chosen yet.');
  $('sharing').hidden = false;
  $('sharing-off-note').hidden = me.location_permission;
}

function showMe(me, personal) {
  $('sign-in').hidden = true;
  $('who-text').textContent = 'Signed in as ' + (me.name || 'extension ' + me.extension) +
      ' (extension ' + me.extension + ', site ' + me.site + ').';
  $('who').hidden = false;

  const l = me.location;
  $('location-name').textContent = l ? l.name : 'none';
  $('location-address').textContent = l ? l.address : 'none';
  $('location-found-by').textContent = l ? (FOUND_BY[l.found_by] || l.found_by) : '';
  $('location-evidence').textContent = l && l.evidence ? 'Details: ' + l.evidence : '';
  $('location-report').textContent = reportLine(me.report);
  $('location').hidden = false;
  showSharing(me);

  // Nomadic emergency services off for the user's site: nothing to ask, no personal address to
  // add; a company location may still be submitted.
  const nomadic = me.nomadic_services !== false;
  $('nomadic-off').hidden = nomadic;
  $('nomadic-off-text').textContent = nomadic ? '' : (me.note ||
      'Nomadic emergency services are off for site ' + me.site + '.');
  for (const choice of ['save-personal', 'this-emergency-only']) {
    $('option-' + choice).hidden = !nomadic;
    $('kind-' + choice).disabled = !nomadic;
  }
  if (!nomadic) $('kind-submit-company').checked = true;
  $('address-title').textContent = nomadic ? 'Add the address where you are' :
      'Submit a company location';

  // The prompt asks about the network the device reported: without location sharing that
  // network is not used, so there is nothing to ask.
  const prompt = me.location_permission ? me.prompt : null;
  $('prompt').hidden = !prompt;
  if (prompt) {
    $('prompt-title').textContent = prompt.status === 'undetectable' ?
        'sosproxy does not know where you are' : 'Is this where you are?';
    $('prompt-text').textContent = prompt.text;
    for (const choice of ['confirm', 'save-personal', 'this-emergency-only', 'submit-company']) {
      $('choice-' + choice).hidden = !prompt.choices.includes(choice);
    }
  }
  $('address').hidden = false;

  const list = $('personal-list');
  list.replaceChildren();
  for (const entry of personal) {
    const record = entry.record;
    const item = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = record.name;
    const line = document.createElement('span');
    line.className = 'address';
    line.textContent = civicLine(record);
    const details = document.createElement('span');
    details.className = 'hint';
    details.textContent = personalState(record);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', 'Delete ' + record.name);
    remove.addEventListener('click', () => deletePersonal(entry));
    const text = document.createElement('div');
    text.append(name, ' ', line, document.createElement('br'), details);
    item.append(text, remove);
    list.append(item);
  }
  $('personal-none').hidden = personal.length > 0;
  $('personal').hidden = false;

  const submitted = $('submitted-list');
  submitted.replaceChildren();
  for (const request of me.submitted || []) {
    const item = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = request.name;
    let state = REQUEST_STATES[request.state] || request.state;
    if (request.reason) state += ': ' + request.reason;
    item.append(name, ' ', state);
    submitted.append(item);
  }
  $('submitted').hidden = submitted.children.length === 0;
}

const PERSONAL = '/api/v1/personal-locations';

// Reads the user's side again and shows it. Each personal address is read on its own as well,
// for the ETag its Delete sends back as If-Match: a Delete removes the version shown, or
// nothing when it changed since.
async function refresh() {
  let me;
  let personal;
  try {
    me = await api('GET', '/api/v1/me');
    const list = (await api('GET', PERSONAL))['personal-locations'] || [];
    personal = [];
    for (const listed of list) {
      try {
        const one = await call('GET', PERSONAL + '/' + encodeURIComponent(listed.key));
        personal.push({record: one.data, etag: one.etag});
      } catch (e) {
        if (e.status !== 404) throw e;  // deleted in between: not there to show
      }
    }
  } catch (e) {
    // Without the user's data there is nothing to show: a token that is not a user's (403) or
    // names no known user (404) is as good as refused here.
    if (e.status === 403 || e.status === 404) signOut();
    failed(e);
    return false;
  }
  showMe(me, personal);
  return true;
}

function clearFormErrors() {
  $('form-error').hidden = true;
  $('form-error-text').textContent = '';
  $('form-problems').replaceChildren();
  for (const field of ADDRESS_FIELDS) {
    $('field-' + field).removeAttribute('aria-invalid');
    $('error-' + field).textContent = '';
    $('error-' + field).hidden = true;
  }
}

// The API's reasons next to the fields they are about: "request:1:5: A1: ..." (a refused
// write's problems) or "name: required" (a check of the answer itself); others in a list.
function showFormError(e) {
  $('form-error-text').textContent = e.message;
  const problems = e.data && Array.isArray(e.data.problems) ? e.data.problems : [];
  let first = null;
  for (const problem of problems.length ? problems : [e.data && e.data.error].filter(Boolean)) {
    const m = /^(?:[^:]*:\d+:(?:\d+:)? )?([A-Za-z0-9_]+): (.*)$/.exec(problem);
    if (m && ADDRESS_FIELDS.includes(m[1])) {
      $('field-' + m[1]).setAttribute('aria-invalid', 'true');
      $('error-' + m[1]).textContent = m[2];
      $('error-' + m[1]).hidden = false;
      first = first || $('field-' + m[1]);
    } else if (problems.length) {
      const item = document.createElement('li');
      item.textContent = problem;
      $('form-problems').append(item);
    }
  }
  $('form-error').hidden = false;
  (first || $('field-name')).focus();
}

async function saveAddress(event) {
  event.preventDefault();
  clearFormErrors();
  showError('');
  const form = $('address-form');
  const choice = form.elements.choice.value;
  const body = {choice};
  for (const field of ADDRESS_FIELDS) {
    const value = form.elements[field].value.trim();
    if (value) body[field] = value;
  }
  $('save').disabled = true;
  try {
    await api('POST', '/api/v1/me/prompt-answer', body);
    form.reset();
    say(choice === 'save-personal' ?
        'Saved "' + body.name + '": your next 911 from this network gives this address.' :
        choice === 'this-emergency-only' ?
        'Held "' + body.name + '" for this emergency: your next 911 gives it while you are ' +
        'on this network; it is not kept.' :
        'Submitted "' + body.name + '": your site\'s administrators are asked to approve it.');
    await refresh();
  } catch (e) {
    if (e.status === 401) {
      failed(e);
    } else {
      say('');
      showFormError(e);
    }
  } finally {
    $('save').disabled = false;
  }
}

async function confirmLocation() {
  showError('');
  try {
    const answer = await api('POST', '/api/v1/me/prompt-answer', {choice: 'confirm'});
    say(answer.changed ? 'Confirmed: your next 911 gives this address as certain.' :
        'Thank you: nothing needed confirming.');
    await refresh();
  } catch (e) {
    failed(e);
  }
}

function choose(choice) {
  $('kind-' + choice).checked = true;
  $('field-name').focus();
}

async function deletePersonal(entry) {
  const record = entry.record;
  showError('');
  try {
    await api('DELETE', PERSONAL + '/' + encodeURIComponent(record.key), undefined,
        {'If-Match': entry.etag || ''});
    say('Deleted "' + record.name + '".');
    await refresh();
  } catch (e) {
    failed(e);
    if (e.status === 412 || e.status === 404) {
      // Someone (an admin, another device of theirs) changed it: show it as it is now.
      const shown = $('error').textContent;
      await refresh();
      showError('"' + record.name + '" was not deleted: ' + shown + ' The list shows your ' +
          'addresses as they are now; delete it again if you still want to.');
    }
  }
}

// The user's answer to the location sharing question (at first use, or from the control).
async function setSharing(allowed) {
  showError('');
  $('sharing-toggle').disabled = true;
  try {
    await api('PUT', '/api/v1/me', {location_permission: allowed});
    say(allowed ? 'Location sharing is on: sosproxy uses your device\'s network to find where ' +
        'you are.' : 'Location sharing is off: sosproxy does not use your device\'s network.');
    await refresh();
  } catch (e) {
    failed(e);
    await refresh();
  } finally {
    $('sharing-toggle').disabled = false;
  }
}

async function signIn(event) {
  event.preventDefault();
  const given = $('token').value.trim();
  showError('');
  if (!given) {
    showError('Enter your token first.');
    $('token').focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, given);
  $('token').value = '';
  say('Signing in...');
  if (await refresh()) say('Signed in.');
}

function start() {
  // A link may carry the token in its fragment: it fills in the form, and leaves the address
  // bar (and the history) at once.
  const fragment = /(?:^#|&)token=([^&]*)/.exec(window.location.hash);
  if (fragment) {
    $('token').value = decodeURIComponent(fragment[1]);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => {
    signOut();
    showError('');
    say('Signed out.');
  });
  $('address-form').addEventListener('submit', saveAddress);
  $('choice-confirm').addEventListener('click', confirmLocation);
  $('choice-save-personal').addEventListener('click', () => choose('save-personal'));
  $('choice-this-emergency-only').addEventListener('click', () => choose('this-emergency-only'));
  $('choice-submit-company').addEventListener('click', () => choose('submit-company'));
  $('sharing-allow').addEventListener('click', () => setSharing(true));
  $('sharing-deny').addEventListener('click', () => setSharing(false));
  $('sharing-toggle').addEventListener('change', () => setSharing($('sharing-toggle').checked));
  if (token()) refresh();
}

start();
