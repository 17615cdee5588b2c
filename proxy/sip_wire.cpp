#include "proxy/sip_wire.h"

#include <charconv>

#include "base/text.h"
#include "proxy/copy_skip.h"

namespace sos::proxy::wire {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Kind kindOf(std::string_view name) {
  if (equalsNoCase(name, "Via") || equalsNoCase(name, "v")) return Kind::Via;
  if (equalsNoCase(name, "Route")) return Kind::Route;
  if (equalsNoCase(name, "Record-Route")) return Kind::RecordRoute;
  if (equalsNoCase(name, "Contact") || equalsNoCase(name, "m")) return Kind::Contact;
  if (equalsNoCase(name, "Max-Forwards")) return Kind::MaxForwards;
  if (equalsNoCase(name, "To") || equalsNoCase(name, "t")) return Kind::To;
  if (equalsNoCase(name, "From") || equalsNoCase(name, "f")) return Kind::From;
  if (equalsNoCase(name, "Call-ID") || equalsNoCase(name, "i")) return Kind::CallId;
  if (equalsNoCase(name, "CSeq")) return Kind::CSeq;
  if (equalsNoCase(name, "Content-Length") || equalsNoCase(name, "l")) return Kind::ContentLength;
  return Kind::Other;
}

bool tokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool fail(const char** why, const char* what) {
  if (why) *why = what;
  return false;
}

// Reads a start line into `m`: "SIP/2.0 NNN phrase" or "METHOD URI SIP/2.0".
bool startLine(std::string_view line, Message& m, const char** why) {
  if (line.size() >= 12 && equalsNoCase(line.substr(0, 8), "SIP/2.0 ")) {
    const std::string_view code = line.substr(8, 3);
    if (!digits(code) || (line.size() > 11 && line[11] != ' '))
      return fail(why, "a status line without a status code");
    m.response = true;
    m.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (m.status < 100) return fail(why, "a status code below 100");
    return true;
  }
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1 + 1 ||
      !equalsNoCase(line.substr(sp2 + 1), "SIP/2.0"))
    return fail(why, "neither a request line nor a status line of SIP/2.0");
  m.method = line.substr(0, sp1);
  m.uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : m.method)
    if (!tokenChar(c)) return fail(why, "a method that is no token");
  if (m.uri.find(' ') != std::string_view::npos) return fail(why, "a Request-URI with a space");
  return true;
}

// Where the parameters of a Via or a URI go on: the next ';', or the end.
size_t paramEnd(std::string_view s, size_t from, std::string_view stops) {
  bool quoted = false;
  for (size_t i = from; i < s.size(); ++i) {
    if (quoted) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        quoted = false;
      }
    } else if (s[i] == '"') {
      quoted = true;
    } else if (stops.find(s[i]) != std::string_view::npos) {
      return i;
    }
  }
  return s.size();
}

// Calls f(name, value, nameOffset) for each ";name[=value]" of `params` (offsets into it).
template <typename F>
void eachParam(std::string_view params, F&& f) {
  size_t pos = 0;
  while (pos < params.size()) {
    if (params[pos] != ';') {
      ++pos;
      continue;
    }
    const size_t end = paramEnd(params, pos + 1, ";");
    std::string_view p = params.substr(pos + 1, end - pos - 1);
    size_t lead = 0;
    while (lead < p.size() && space(p[lead])) ++lead;
    const size_t eq = p.find('=');
    const std::string_view name = trimLws(p.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? "" : trimLws(p.substr(eq + 1));
    if (f(name, value, pos + 1 + lead, eq != std::string_view::npos)) return;
    pos = end;
  }
}

// "host[:port]" from `s` at `pos`; moves `pos` past it.
bool hostPort(std::string_view s, size_t& pos, std::string_view& host, std::string_view& port,
              std::string_view stops) {
  const size_t start = pos;
  if (pos < s.size() && s[pos] == '[') {
    const size_t close = s.find(']', pos);
    if (close == std::string_view::npos) return false;
    pos = close + 1;
  } else {
    while (pos < s.size() && stops.find(s[pos]) == std::string_view::npos && s[pos] != ':') ++pos;
  }
  host = s.substr(start, pos - start);
  if (host.empty()) return false;
  if (pos < s.size() && s[pos] == ':') {
    const size_t p = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    port = s.substr(p, pos - p);
    if (port.empty()) return false;
  }
  return true;
}

size_t skipSpace(std::string_view s, size_t pos) {
  while (pos < s.size() && space(s[pos])) ++pos;
  return pos;
}

// The header line's name and colon with what space follows ("Via: "), as received.
std::string_view namePart(const Message& m, const Header& h) {
  return m.data.substr(h.begin, static_cast<size_t>(h.value.data() - m.data.data()) - h.begin);
}

void line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(value);
  out.append("\r\n");
}

// The top Via's header line with the sender's received and rport filled in.
void topVia(std::string& out, const Message& m, const Header& h, std::string_view suffix,
            std::string_view rportValue) {
  const Split s = splitFirst(h.value);
  out.append(namePart(m, h));
  Via via;
  if (!rportValue.empty() && parseVia(s.first, via) && via.rport && via.rportValue.empty()) {
    out.append(s.first.substr(0, via.rportAt + 5));
    out.push_back('=');
    out.append(rportValue);
    out.append(s.first.substr(via.rportAt + 5));
  } else {
    out.append(s.first);
  }
  out.append(suffix);
  if (!s.rest.empty()) {
    out.append(", ");
    out.append(s.rest);
  }
  out.append("\r\n");
}

}  // namespace

const Header* Message::first(Kind kind) const {
  for (size_t i = 0; i < count; ++i)
    if (headers[i].kind == kind) return &headers[i];
  return nullptr;
}

bool parse(std::string_view d, Message& m, const char** why) {
  m.data = d;
  m.response = false;
  m.status = 0;
  m.method = m.uri = {};
  m.count = 0;
  size_t eol = d.find('\n');
  if (eol == std::string_view::npos) return fail(why, "no line end");
  std::string_view first = d.substr(0, eol);
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  if (!startLine(first, m, why)) return false;
  m.headersBegin = eol + 1;
  size_t pos = eol + 1;
  for (;;) {
    if (pos >= d.size()) return fail(why, "no empty line after the headers");
    const size_t e = d.find('\n', pos);
    if (e == std::string_view::npos) return fail(why, "no empty line after the headers");
    std::string_view l = d.substr(pos, e - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) {
      m.headersEnd = pos;
      m.bodyBegin = e + 1;
      break;
    }
    if (l.front() == ' ' || l.front() == '\t') {  // a continuation line (RFC 3261 7.3.1)
      if (m.count == 0) return fail(why, "a continuation line before any header");
      Header& h = m.headers[m.count - 1];
      const size_t vb = static_cast<size_t>(h.value.data() - d.data());
      h.value = trimLws(d.substr(vb, pos + l.size() - vb));
      h.end = e + 1;
      pos = e + 1;
      continue;
    }
    const size_t colon = l.find(':');
    if (colon == std::string_view::npos) return fail(why, "a header line without a colon");
    const std::string_view name = trimLws(l.substr(0, colon));
    if (name.empty()) return fail(why, "a header without a name");
    for (char c : name)
      if (!tokenChar(c)) return fail(why, "a header name that is no token");
    if (m.count == Message::kMaxHeaders) return fail(why, "too many header lines");
    Header& h = m.headers[m.count++];
    h.kind = kindOf(name);
    h.begin = pos;
    h.end = e + 1;
    size_t vb = pos + colon + 1;
    while (vb < pos + l.size() && (d[vb] == ' ' || d[vb] == '\t')) ++vb;
    h.value = trimLws(d.substr(vb, pos + l.size() - vb));
    pos = e + 1;
  }
  const size_t available = d.size() - m.bodyBegin;
  m.bodyLength = available;
  if (const Header* cl = m.first(Kind::ContentLength)) {
    size_t n = 0;
    const auto [end, ec] =
        std::from_chars(cl->value.data(), cl->value.data() + cl->value.size(), n);
    if (ec != std::errc() || end != cl->value.data() + cl->value.size())
      return fail(why, "a Content-Length that is no number");
    if (n > available) return fail(why, "a body shorter than its Content-Length");
    m.bodyLength = n;
  }
  return true;
}

Split splitFirst(std::string_view value) {
  const size_t end = valueEnd(value);
  if (end == value.size()) return {trimLws(value), {}};
  return {trimLws(value.substr(0, end)), trimLws(value.substr(end + 1))};
}

bool parseVia(std::string_view v, Via& out) {
  out = Via{};
  size_t pos = skipSpace(v, 0);
  const size_t start = pos;
  std::string_view last;
  for (int part = 0; part < 3; ++part) {  // "SIP / 2.0 / UDP", spaces allowed around '/'
    if (part > 0) {
      pos = skipSpace(v, pos);
      if (pos >= v.size() || v[pos] != '/') return false;
      pos = skipSpace(v, pos + 1);
    }
    const size_t t = pos;
    while (pos < v.size() && tokenChar(v[pos])) ++pos;
    if (pos == t) return false;
    last = v.substr(t, pos - t);
  }
  out.protocol = v.substr(start, pos - start);
  out.transport = last;
  pos = skipSpace(v, pos);
  if (!hostPort(v, pos, out.host, out.port, " \t\r\n;,")) return false;
  const std::string_view params = v.substr(pos);
  eachParam(params, [&](std::string_view name, std::string_view value, size_t at, bool hasValue) {
    if (equalsNoCase(name, "branch")) {
      out.branch = value;
    } else if (equalsNoCase(name, "received")) {
      out.received = value;
    } else if (equalsNoCase(name, "rport")) {
      out.rport = true;
      out.rportValue = value;
      if (!hasValue) out.rportAt = pos + at;
    }
    return false;
  });
  return true;
}

bool Uri::hasParam(std::string_view name) const {
  bool found = false;
  eachParam(params, [&](std::string_view n, std::string_view, size_t, bool) {
    return found = equalsNoCase(n, name);
  });
  return found;
}

std::string_view Uri::param(std::string_view name) const {
  std::string_view found;
  eachParam(params, [&](std::string_view n, std::string_view value, size_t, bool) {
    if (!equalsNoCase(n, name)) return false;
    found = value;
    return true;
  });
  return found;
}

bool parseUri(std::string_view text, Uri& out) {
  out = Uri{};
  std::string_view s = trimLws(text);
  const size_t lt = paramEnd(s, 0, "<");
  if (lt < s.size()) {
    const size_t gt = s.find('>', lt);
    if (gt == std::string_view::npos) return false;
    s = trimLws(s.substr(lt + 1, gt - lt - 1));
  }
  size_t pos = 0;
  if (s.size() > 4 && equalsNoCase(s.substr(0, 4), "sip:")) {
    pos = 4;
  } else if (s.size() > 5 && equalsNoCase(s.substr(0, 5), "sips:")) {
    pos = 5;
  } else {
    return false;
  }
  const size_t limit = std::min(s.find('?', pos), s.size());
  const size_t at = s.substr(0, limit).rfind('@');
  if (at != std::string_view::npos && at >= pos) pos = at + 1;
  if (!hostPort(s, pos, out.host, out.port, ";?> \t")) return false;
  out.params = s.substr(pos, std::min(s.find('?', pos), s.size()) - pos);
  return true;
}

std::string_view cseqNumber(std::string_view value) {
  value = trimLws(value);
  size_t n = 0;
  while (n < value.size() && value[n] >= '0' && value[n] <= '9') ++n;
  return value.substr(0, n);
}

std::string_view cseqMethod(std::string_view value) {
  value = trimLws(value);
  return trimLws(value.substr(cseqNumber(value).size()));
}

bool hasTag(std::string_view to) {
  const size_t gt = to.find('>');
  const std::string_view params = gt == std::string_view::npos ? to : to.substr(gt + 1);
  bool found = false;
  eachParam(params, [&](std::string_view n, std::string_view, size_t, bool) {
    return found = equalsNoCase(n, "tag");
  });
  return found;
}

void forwardRequest(const Message& m, const RequestEdits& e, std::string& out) {
  out.clear();
  out.reserve(m.data.size() + e.via.size() + e.recordRoute.size() + 64);
  out.append(m.data.substr(0, m.headersBegin));
  line(out, "Via: ", e.via);
  if (!e.recordRoute.empty()) line(out, "Record-Route: ", e.recordRoute);
  const Header* via = m.first(Kind::Via);
  const Header* route = e.popRoute ? m.first(Kind::Route) : nullptr;
  bool maxForwards = false;
  for (size_t i = 0; i < m.count; ++i) {
    const Header& h = m.headers[i];
    if (&h == via) {
      topVia(out, m, h, e.topViaSuffix, e.rportValue);
    } else if (&h == route) {
      const Split s = splitFirst(h.value);
      if (!s.rest.empty()) line(out, namePart(m, h), s.rest);
    } else if (h.kind == Kind::MaxForwards && !maxForwards && !e.maxForwards.empty()) {
      line(out, namePart(m, h), e.maxForwards);
      maxForwards = true;
    } else {
      out.append(m.data.substr(h.begin, h.end - h.begin));
    }
  }
  if (!maxForwards && !e.maxForwards.empty()) line(out, "Max-Forwards: ", e.maxForwards);
  out.append("\r\n");
  out.append(m.data.substr(m.bodyBegin, m.bodyLength));
}

namespace {

// Does forwardInvite leave out the header `h` (by its name) under `skip`?
bool skipped(const Message& m, const Header& h, unsigned skip) {
  std::string_view name = namePart(m, h);
  name = trimLws(name.substr(0, name.find(':')));
  const auto is = [&](std::string_view a, std::string_view b = {}) {
    return equalsNoCase(name, a) || (!b.empty() && equalsNoCase(name, b));
  };
  if (h.kind == Kind::Route || h.kind == Kind::ContentLength) return true;
  return ((skip & kSkipBody) && is("Content-Type", "c")) ||
         ((skip & kSkipIdentity) && is("P-Asserted-Identity")) ||
         ((skip & kSkipGeolocation) && (is("Geolocation") || is("Geolocation-Routing"))) ||
         ((skip & kSkipBodyHeaders) &&
          (is("Content-Disposition") || is("Content-Encoding", "e") || is("Content-Language"))) ||
         ((skip & kSkipAccessNetworkInfo) && is("P-Access-Network-Info")) ||
         ((skip & kSkipLongUnknown) && h.kind == Kind::Other && h.value.size() > kLongHeader);
}

// The From value with its URI's user replaced ("<sip:1001@host>;tag=a" -> "<sip:ELIN@host>...").
void fromWithUser(std::string& out, std::string_view from, std::string_view user) {
  const size_t scheme = from.find("sip:") != std::string_view::npos    ? from.find("sip:") + 4
                        : from.find("sips:") != std::string_view::npos ? from.find("sips:") + 5
                                                                       : std::string_view::npos;
  const size_t at = scheme == std::string_view::npos ? scheme : from.find('@', scheme);
  const size_t close = from.find_first_of(">;", scheme == std::string_view::npos ? 0 : scheme);
  if (scheme == std::string_view::npos) {
    out.append(from);
    return;
  }
  out.append(from.substr(0, scheme));
  out.append(user);
  if (at != std::string_view::npos && at < close) {
    out.append(from.substr(at));
  } else {
    out.push_back('@');  // no user in it: the host follows
    out.append(from.substr(scheme));
  }
}

}  // namespace

void forwardInvite(const Message& m, const RequestEdits& e, const InviteEdits& i,
                   std::string& out) {
  const std::string_view body =
      (i.skip & kSkipBody) ? i.body : m.data.substr(m.bodyBegin, m.bodyLength);
  out.clear();
  out.reserve(m.data.size() + body.size() + i.extraHeaders.size() + 256);
  out.append(m.method).append(" ").append(i.uri).append(" SIP/2.0\r\n");
  line(out, "Via: ", e.via);
  if (!e.recordRoute.empty()) line(out, "Record-Route: ", e.recordRoute);
  const Header* via = m.first(Kind::Via);
  bool maxForwards = false;
  for (size_t k = 0; k < m.count; ++k) {
    const Header& h = m.headers[k];
    if (&h == via) {
      topVia(out, m, h, e.topViaSuffix, e.rportValue);
    } else if (h.kind == Kind::MaxForwards && !maxForwards) {
      line(out, namePart(m, h), e.maxForwards);
      maxForwards = true;
    } else if (h.kind == Kind::From && !i.fromUser.empty()) {
      out.append(namePart(m, h));
      fromWithUser(out, h.value, i.fromUser);
      out.append("\r\n");
    } else if (!skipped(m, h, i.skip) && h.kind != Kind::MaxForwards) {
      out.append(m.data.substr(h.begin, h.end - h.begin));
    }
  }
  if (!maxForwards) line(out, "Max-Forwards: ", e.maxForwards);
  if (!i.identity.empty()) line(out, "P-Asserted-Identity: ", i.identity);
  out.append(i.extraHeaders);
  if (!i.extraHeaders.empty() && !i.extraHeaders.ends_with("\r\n")) out.append("\r\n");
  if ((i.skip & kSkipBody) && !body.empty()) line(out, "Content-Type: ", i.contentType);
  line(out, "Content-Length: ", std::to_string(body.size()));
  out.append("\r\n");
  out.append(body);
}

void forwardResponse(const Message& m, std::string& out, std::string_view firstRecordRoute) {
  out.clear();
  out.reserve(m.data.size() + firstRecordRoute.size());
  out.append(m.data.substr(0, m.headersBegin));
  const Header* via = m.first(Kind::Via);
  const Header* recordRoute = firstRecordRoute.empty() ? nullptr : m.first(Kind::RecordRoute);
  for (size_t i = 0; i < m.count; ++i) {
    const Header& h = m.headers[i];
    if (&h == via) {
      const Split s = splitFirst(h.value);
      if (!s.rest.empty()) line(out, namePart(m, h), s.rest);
    } else if (&h == recordRoute) {
      const Split s = splitFirst(h.value);
      std::string value(firstRecordRoute);
      if (!s.rest.empty()) value.append(", ").append(s.rest);
      line(out, namePart(m, h), value);
    } else {
      out.append(m.data.substr(h.begin, h.end - h.begin));
    }
  }
  out.append("\r\n");
  out.append(m.data.substr(m.bodyBegin, m.bodyLength));
}

void answer(const Message& m, int status, std::string_view phrase, std::string_view topViaSuffix,
            std::string_view rportValue, std::string& out) {
  out.clear();
  out.append("SIP/2.0 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(phrase);
  out.append("\r\n");
  const Header* via = m.first(Kind::Via);
  for (size_t i = 0; i < m.count; ++i) {
    const Header& h = m.headers[i];
    if (&h == via) {
      topVia(out, m, h, topViaSuffix, rportValue);
    } else if (h.kind == Kind::Via || h.kind == Kind::From || h.kind == Kind::To ||
               h.kind == Kind::CallId || h.kind == Kind::CSeq) {
      out.append(m.data.substr(h.begin, h.end - h.begin));
    }
  }
  out.append("Content-Length: 0\r\n\r\n");
}

}  // namespace sos::proxy::wire
