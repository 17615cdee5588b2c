#include "routing/dial_plan.h"

#include <algorithm>

#include "base/text.h"

namespace sos::routing {

namespace {

std::string toLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
  return out;
}

std::string_view cutAt(std::string_view s, char c) {
  auto pos = s.find(c);
  return pos == std::string_view::npos ? s : s.substr(0, pos);
}

// RFC 3966 section 5.1.1: visual separators carry no meaning and are dropped before comparing.
std::string dropVisualSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '-' && c != '.' && c != '(' && c != ')') out.push_back(c);
  }
  return out;
}

// RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Returns the
// length of the scheme before ':' or 0 when the text does not start with one ("911@host",
// "+1217555" and "10.0.0.5:5060"-like text are bare).
size_t schemeLength(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return i;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

// The user of "user[:password]@host;params" (RFC 3261 section 19.1.1); empty when there is no
// '@' (then the text is a host, and a host is not a dialed number). User parameters such as
// ";phone-context=..." (RFC 3966 section 5.1.4 carried in a SIP user part) are dropped.
std::string sipUser(std::string_view rest) {
  auto at = rest.find('@');
  if (at == std::string_view::npos) return {};
  std::string_view user = rest.substr(0, at);
  user = cutAt(user, ':');
  user = cutAt(user, ';');
  // RFC 3261 section 19.1.2: characters of the user part may arrive %-escaped ("%39%31%31" is
  // "911").
  return percentDecoded(user);
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// `urn` is lower-cased already. RFC 5031 section 3: labels compare case-insensitively and
// removing labels right to left gives a more generic, still valid service, so any
// "urn:service:sos.<whatever>" is at least an emergency call even if we do not know <whatever>.
bool isServiceOrSubService(std::string_view urn, std::string_view service) {
  if (!startsWith(urn, service)) return false;
  return urn.size() == service.size() || urn[service.size()] == '.';
}

// The dialed user matches `code` directly or after the site's outside-line prefix. Exact
// comparison on purpose: "9112345" must not count as "911" followed by digits.
bool matchesCode(const std::string& user, const std::string& code, const std::string& prefix) {
  if (code.empty()) return false;
  if (user == code) return true;
  return !prefix.empty() && user.size() == prefix.size() + code.size() &&
         startsWith(user, prefix) && std::string_view(user).substr(prefix.size()) == code;
}

const std::string* findCode(const std::string& user, const std::vector<std::string>& codes,
                            const std::string& prefix) {
  for (const auto& code : codes) {
    if (matchesCode(user, code, prefix)) return &code;
  }
  return nullptr;
}

}  // namespace

DialedNumber parseDialed(std::string_view requestUri) {
  std::string_view s = trimLws(requestUri);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trimLws(s.substr(1, s.size() - 2));

  DialedNumber d;
  size_t schemeLen = schemeLength(s);
  if (schemeLen == 0) {
    // A bare number, "911" or "911@10.0.0.5": whatever is before '@' and any parameters.
    d.user = percentDecoded(cutAt(cutAt(s, '@'), ';'));
    return d;
  }
  d.scheme = toLower(s.substr(0, schemeLen));
  std::string_view rest = s.substr(schemeLen + 1);
  if (d.scheme == "urn") {
    // URNs are compared lower-case (RFC 5031 section 3); parameters never belong to a
    // service URN, so anything after ';' or '?' is dropped.
    d.user = toLower(cutAt(cutAt(s, ';'), '?'));
  } else if (d.scheme == "tel") {
    // RFC 3966 section 3: the number ends at the first parameter.
    d.user = dropVisualSeparators(percentDecoded(cutAt(rest, ';')));
  } else {
    // sip, sips, and for the log any other scheme with a user part ("im:", "pres:").
    d.user = sipUser(rest);
  }
  return d;
}

EmergencyMatch classify(std::string_view requestUri, const config::Site& callerSite,
                        const config::Config& config) {
  DialedNumber d = parseDialed(requestUri);
  EmergencyMatch m;
  m.dialed = d.user;
  if (d.user.empty()) return m;

  if (d.scheme == "urn") {
    // RFC 6881 registers "test" with sub-service "test.sos": a call that exercises the path to
    // the PSAP without reaching a dispatcher. It is checked with the same label rule as "sos".
    bool sos = isServiceOrSubService(d.user, "urn:service:sos");
    bool test = isServiceOrSubService(d.user, "urn:service:test.sos");
    if (sos || test) {
      m.emergency = true;
      m.test = test;
      m.normalized = d.user;
    }
    return m;
  }
  // Only schemes that carry a dialed number are compared with dial strings: "pres:911@x" is
  // not somebody dialing 911.
  if (d.scheme != "" && d.scheme != "sip" && d.scheme != "sips" && d.scheme != "tel") return m;

  auto found = [&](const std::string& code, const config::Site& site, bool test) {
    m.emergency = true;
    m.test = test;
    m.normalized = code;
    m.matchedSite = site.name;
  };
  // The caller's own site first: its dial strings, then its test numbers (a test call is only
  // meaningful at the site whose PSAP reads the location back).
  if (const auto* code = findCode(d.user, callerSite.dialStrings, callerSite.outsideLinePrefix)) {
    found(*code, callerSite, false);
    return m;
  }
  if (const auto* code = findCode(d.user, callerSite.testNumbers, callerSite.outsideLinePrefix)) {
    found(*code, callerSite, true);
    return m;
  }
  // Then every other site's dial strings, each with that site's own prefix: a visitor from
  // London who dials 999 at HQ is still calling for help.
  for (const auto& site : config.sites) {
    if (&site == &callerSite || site.name == callerSite.name) continue;
    if (const auto* code = findCode(d.user, site.dialStrings, site.outsideLinePrefix)) {
      found(*code, site, false);
      return m;
    }
  }
  return m;
}

}  // namespace sos::routing
