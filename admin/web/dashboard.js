// The dashboard (served at /dashboard): an admin signs in with an API token and sees the
// location-tracking figures of their sites (GET /api/v1/dashboard/location-tracking). The token
// is sent once, to POST /api/v1/session, and is not kept: the browser holds the session's
// HttpOnly cookie, and this page the session's CSRF token (in memory only), which it sends as
// X-CSRF-Token with every request that is not a read. Plain DOM, no framework; the page's
// Content-Security-Policy allows this origin's scripts only, so nothing here is inline.
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
  $('tracking').hidden = true;
  $('who').hidden = true;
  $('who-text').textContent = '';
  $('sign-in').hidden = false;
  const select = $('site');
  while (select.options.length > 1) select.remove(1);
}

function failed(e) {
  if (e.status === 401) signedOut();
  say('');
  showError(e.message);
}

function signedIn(session) {
  csrf = session.csrf;
  const sites = session.sites && session.sites.length ? ' of ' + session.sites.join(', ') : '';
  $('who-text').textContent = 'Signed in as ' + session.name + ' (' + session.role + sites + ')';
  $('who').hidden = false;
  $('sign-in').hidden = true;
  $('tracking').hidden = false;
}

// A bar `part` of `whole` wide.
function bar(id, part, whole) {
  $(id).style.width = (whole > 0 ? (100 * part) / whole : 0) + '%';
}

function stack(id, counts, total) {
  for (const where of ['company', 'personal', 'unknown']) {
    const span = $(id).querySelector('.' + where);
    span.style.width = (total > 0 ? (100 * counts[where]) / total : 0) + '%';
  }
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
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
    cell(tr, person(e));
    cell(tr, e.device || '');
    cell(tr, e.network || 'none');
    cell(tr, e.location ? e.location.name + ' (' + e.location.address + ')' : 'unknown');
    cell(tr, (FOUND_BY[e.found_by] || e.found_by) + (e.evidence ? ': ' + e.evidence : ''));
    cell(tr, age(e.age_ms));
    cell(tr, e.where, 'where-' + e.where);
    return tr;
  });
  $(id).replaceChildren(...rows);
}

function show(t) {
  $('nomadic-count').textContent = t.nomadic.count;
  $('nomadic-of').textContent = t.nomadic.of;
  bar('nomadic-bar', t.nomadic.count, t.nomadic.of);
  people('nomadic-list', t.nomadic.entries);

  $('sharing-count').textContent = t.sharing.count;
  $('sharing-of').textContent = t.sharing.of;
  bar('sharing-bar', t.sharing.count, t.sharing.of);
  people('sharing-list', t.sharing.entries);

  const a = t.emergency_address;
  $('address-personal').textContent = a.personal;
  $('address-default').textContent = a.default;
  bar('address-bar', a.personal, a.personal + a.default);
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
  bar('personal-bar', p.detectable, p.detectable + p.not_detectable);
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
    stack('now-' + kind + '-bar', n.counts, n.total);
    nowRows('now-' + kind + '-list', n.entries);
  }
  $('tracking-at').textContent = 'as of ' + new Date(t.at_ms).toLocaleString();
}

// The site filter: a site-admin's own sites, or a super-admin's every site.
async function fillSites(session) {
  if (sitesFilled) return;
  let names = session.sites || [];
  if (session.role === 'super-admin') {
    const list = await api('GET', '/api/v1/sites?limit=1000');
    names = list.sites.map((r) => r.name);
  }
  const select = $('site');
  for (const name of names) {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    select.appendChild(option);
  }
  sitesFilled = true;
}

async function refresh() {
  const site = $('site').value;
  say('Loading…');
  const t = await api('GET', TRACKING_PATH + (site ? '?site=' + encodeURIComponent(site) : ''));
  show(t);
  say('');
  showError('');
}

async function start(session) {
  signedIn(session);
  try {
    await fillSites(session);
  } catch (e) {
    // The filter is a convenience: the figures still load for all of the admin's sites.
    showError('The list of sites could not be read: ' + e.message);
  }
  await refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    showError('');
    say('Signing in…');
    try {
      await start(await api('POST', '/api/v1/session', {token}));
    } catch (e) {
      failed(e);
    }
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
  // Already signed in (a reload of the page): the cookie's session, if it is still open.
  api('GET', '/api/v1/session').then(start, () => signedOut()).catch(failed);
});
