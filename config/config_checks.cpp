// The value checks of the configuration file (config_checks.h).

#include "config/config_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "base/text.h"
#include "config/yaml_reader.h"
#include "model/network.h"

namespace sos::config::detail {

std::string checkAddress(std::string_view s) {
  return expecting(model::addressBits(s) != 0,
                   "a numeric IPv4 or IPv6 address, e.g. \"127.0.0.1\"");
}

std::string checkDialString(std::string_view s) {
  return expecting(isDigits(s, "*#"), "digits, '*' or '#', e.g. \"911\"");
}

std::string checkPrefix(std::string_view s) { return expecting(isDigits(s), "digits, e.g. \"9\""); }

std::string checkTestNumber(std::string_view s) {
  return expecting(isDigits(s), "digits, e.g. \"933\"");
}

// RFC 5031 section 4.2: "urn:service:test." and the service tested ("sos", "sos.police"),
// compared case-insensitively; or a test number a PSAP trunk takes ("933").
std::string checkTestDestination(std::string_view s) {
  constexpr std::string_view kTestUrn = "urn:service:test.";
  bool ok = !s.empty() && s.size() <= 64 && isDigits(s, "*#");
  if (!ok && s.size() > kTestUrn.size() && equalsNoCase(s.substr(0, kTestUrn.size()), kTestUrn)) {
    std::string_view service = s.substr(kTestUrn.size());
    ok = service.front() != '.' && service.back() != '.' &&
         std::all_of(service.begin(), service.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
         });
  }
  return expecting(ok,
                   "a test service URN (RFC 5031), e.g. \"urn:service:test.sos\", or a "
                   "test number, e.g. \"933\"");
}

std::string checkExtension(std::string_view s) {
  bool star = !s.empty() && s.back() == '*';
  return expecting(isDigits(s.substr(0, s.size() - (star ? 1 : 0))),
                   "digits, optionally ending in '*', e.g. \"1001\" or \"1*\"");
}

// Numeric only: a DNS lookup on an emergency call's path can stall it for seconds.
std::string checkHost(std::string_view s) {
  return expecting(model::addressBits(s) != 0,
                   "a numeric IPv4 or IPv6 address (trunks are not resolved by DNS)");
}

// RFC 1123 host name: dot-separated labels of letters, digits and '-', not starting or ending
// with '-'.
std::string checkHostName(std::string_view s) {
  bool ok = !s.empty() && s.size() <= 253;
  size_t label = 0;
  for (size_t i = 0; ok && i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      ok = label > 0 && s[i - 1] != '-';
      label = 0;
    } else {
      ok = (alnum || (c == '-' && label > 0)) && ++label <= 63;
    }
  }
  ok = ok && label > 0 && s.back() != '-';
  return expecting(ok, "a host name, e.g. \"sosproxy.example.com\"");
}

// "http://HOST[:PORT]/PATH" or "https://...": HOST a numeric address ("[...]" for IPv6) or a
// host name, resolved on the I/O thread when the alert is sent (issue 20), never by the SIP
// thread.
std::string checkWebhookUrl(std::string_view s) {
  const size_t schemeEnd = s.rfind("https://", 0) == 0 ? 8 : s.rfind("http://", 0) == 0 ? 7 : 0;
  bool ok = schemeEnd != 0;
  if (ok) {
    std::string_view rest = s.substr(schemeEnd);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
      ok = model::addressBits(host) == 128;
    } else {
      if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
      }
      ok = model::addressBits(host) == 32 || checkHostName(host).empty();
    }
    ok = ok && std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || c < 0x21; });
  }
  return expecting(ok,
                   "an http:// or https:// URL, e.g. \"https://alerts.example.com/hook\" or "
                   "\"http://127.0.0.1:8089/alerts\"");
}

std::string checkMailHost(std::string_view s) {
  return expecting(model::addressBits(s) != 0 || checkHostName(s).empty(),
                   "a host name or a numeric address, e.g. \"smtp.example.com\"");
}

bool isLoopback(std::string_view s) {
  const std::string text(s);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// Where users' browsers reach the admin server: "http://" or "https://", a host name or a
// numeric address ("[...]" for IPv6), an optional port, an optional path; no user name,
// query, fragment or blanks (it is written into e-mails and SIP MESSAGEs as it is).
std::string checkPublicUrl(std::string_view s) {
  const char* const kExpected =
      "an http:// or https:// URL of the admin server as users reach it, without query or "
      "fragment, e.g. \"https://sos.example.com\" or \"http://10.1.0.5:8080\"";
  std::string_view rest;
  if (s.rfind("https://", 0) == 0) {
    rest = s.substr(8);
  } else if (s.rfind("http://", 0) == 0) {
    rest = s.substr(7);
  } else {
    return expecting(false, kExpected);
  }
  const bool clean = std::none_of(s.begin(), s.end(), [](char c) {
    return c <= ' ' || c == 0x7f || c == '?' || c == '#' || c == '@' || c == '"' || c == '<' ||
           c == '>' || c == '\\';
  });
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view host = authority;
  std::string_view portText;
  bool ok = clean && !authority.empty();
  if (ok && host.front() == '[') {
    const auto close = host.find(']');
    ok = close != std::string_view::npos && model::addressBits(host.substr(1, close - 1)) == 128;
    if (ok) {
      portText = host.substr(close + 1);
      host = host.substr(1, close - 1);
      ok = portText.empty() || portText.front() == ':';
      if (!portText.empty()) portText.remove_prefix(1);
    }
  } else if (ok) {
    if (const auto colon = host.find(':'); colon != std::string_view::npos) {
      portText = host.substr(colon + 1);
      host = host.substr(0, colon);
      ok = !portText.empty();
    }
    ok = ok && (model::addressBits(host) == 32 || checkHostName(host).empty());
  }
  if (ok && !portText.empty()) {
    ok = isDigits(portText) && portText.size() <= 5 && std::stoi(std::string(portText)) >= 1 &&
         std::stoi(std::string(portText)) <= 65535;
  }
  return expecting(ok, kExpected);
}

// An e-mail address as an SMTP envelope takes it: local@domain, no spaces or angle brackets.
std::string checkEmail(std::string_view s) {
  auto at = s.find('@');
  bool ok = at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
            s.find('@', at + 1) == std::string_view::npos &&
            std::none_of(s.begin(), s.end(),
                         [](char c) { return c <= ' ' || c == '<' || c == '>' || c == 0x7f; });
  return expecting(ok, "an e-mail address, e.g. \"security@hq.example\"");
}

// "sip:user@host:port" with a numeric host (no DNS on the call path).
std::string checkSipTarget(std::string_view s) {
  bool ok = s.rfind("sip:", 0) == 0;
  if (ok) {
    std::string_view rest = s.substr(4);
    rest = rest.substr(rest.find('@') == std::string_view::npos ? 0 : rest.find('@') + 1);
    rest = rest.substr(0, rest.find(';'));
    std::string_view host = rest;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
      host = host.substr(0, colon);
    }
    ok = model::addressBits(host) != 0;
  }
  return expecting(ok, "a SIP URI with a numeric host, e.g. \"sip:security-desk@127.0.0.1:5094\"");
}

std::string upperCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

std::optional<int64_t> millisecondsOf(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!isDigits(whole) || whole.size() > 9 ||
      (dot != std::string_view::npos && (!isDigits(fraction) || fraction.size() > 3))) {
    return std::nullopt;
  }
  int64_t ms = 0;
  for (char c : whole) {
    ms = ms * 10 + (c - '0');
  }
  for (size_t i = 0; i < 3; ++i) {
    ms = ms * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  return ms;
}

}  // namespace sos::config::detail
