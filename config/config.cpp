// Loads the YAML configuration into plain values and validates all of it before anything starts,
// so a bad file is refused at start-up with every problem listed at once, never half-applied.
// yaml-cpp stays inside this file: no other library sees a YAML node.

#include "config/config.h"

#include "base/text.h"
#include "model/network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

namespace sos::config {
namespace {

// A node, the dotted key that leads to it ("trunks[1].port") and the place to blame for it.
// An empty value ("port:") is blamed on its key: yaml-cpp marks a null at the next token,
// which is often on a later line.
struct Value {
  YAML::Node node;
  std::string key;
  YAML::Mark mark;
};

// A mapping's entries by key, first occurrence only.
using Fields = std::map<std::string, Value, std::less<>>;

// The first item that used each trunk or site name.
using NamesSeen = std::map<std::string, const Value*, std::less<>>;

// A trunk name used somewhere else (carrier_trunk, psap_route), checked once all trunks are read.
struct TrunkReference {
  std::string name;
  Value where;
};

struct Problem {
  int line;
  int column;
  std::string text;
};

std::string childKey(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Not "quoted": std::quoted, which <filesystem> brings in, would win overload resolution by ADL.
std::string inQuotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "a, b and c": `last` joins the final pair.
template <class Range>
std::string joined(const Range& words, std::string_view last) {
  std::string out;
  size_t i = 0;
  for (std::string_view w : words) {
    out += i == 0 ? "" : (i + 1 == std::size(words) ? last : ", ");
    out += w;
    ++i;
  }
  return out;
}

// A check returns what is wrong with a value (the text after the quoted value), or "" if nothing.
using Check = std::string (*)(std::string_view);

std::string expecting(bool ok, std::string_view expected) {
  return ok ? "" : " is not valid; expected " + std::string(expected);
}

std::string anyText(std::string_view) { return ""; }

std::string checkAddress(std::string_view s) {
  return expecting(model::addressBits(s) != 0, "a numeric IPv4 or IPv6 address, e.g. \"127.0.0.1\"");
}

std::string checkCountry(std::string_view s) {
  bool ok =
      s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return expecting(ok, "two upper-case letters (ISO 3166), e.g. \"US\"");
}

std::string checkDialString(std::string_view s) {
  return expecting(isDigits(s, "*#"), "digits, '*' or '#', e.g. \"911\"");
}

std::string checkPrefix(std::string_view s) { return expecting(isDigits(s), "digits, e.g. \"9\""); }

std::string checkTestNumber(std::string_view s) {
  return expecting(isDigits(s), "digits, e.g. \"933\"");
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

// "http://HOST[:PORT]/PATH" with a numeric host: alerts never wait on DNS either.
std::string checkWebhookUrl(std::string_view s) {
  bool ok = s.rfind("http://", 0) == 0;
  if (ok) {
    std::string_view rest = s.substr(7);
    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
      host = host.substr(0, colon);
    }
    ok = model::addressBits(host) != 0 &&
         std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || c < 0x21; });
  }
  return expecting(ok, "an http:// URL with a numeric host, e.g. \"http://127.0.0.1:8089/alerts\"");
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

std::string checkNetwork(std::string_view text) {
  std::string problem = model::cidrProblem(text);
  return problem.empty() ? "" : " is not a network in CIDR form: " + problem;
}

// The words the file uses for each enumeration; toString() prints the same ones.
template <class E, size_t N>
using Names = std::array<std::pair<std::string_view, E>, N>;

constexpr Names<Transport, 2> kTransports{{{"udp", Transport::Udp}, {"tcp", Transport::Tcp}}};
constexpr Names<TrunkMode, 4> kModes{{{"plain", TrunkMode::Plain},
                                      {"pidf", TrunkMode::Pidf},
                                      {"elin", TrunkMode::Elin},
                                      {"both", TrunkMode::Both}}};
constexpr Names<LogFormat, 2> kFormats{{{"text", LogFormat::Text}, {"json", LogFormat::Json}}};
constexpr Names<std::string_view, 5> kLevels{{{"trace", "trace"},
                                              {"debug", "debug"},
                                              {"info", "info"},
                                              {"warn", "warn"},
                                              {"error", "error"}}};

// The location signals, in routing::toString(Signal)'s words (config does not link routing).
constexpr Names<std::string_view, 9> kSignals{{{"device-supplied", "device-supplied"},
                                               {"bssid", "bssid"},
                                               {"chassis-port", "chassis-port"},
                                               {"chassis", "chassis"},
                                               {"subnet", "subnet"},
                                               {"personal-network", "personal-network"},
                                               {"personal-confirmed", "personal-confirmed"},
                                               {"site-default", "site-default"},
                                               {"account-default", "account-default"}}};

// Routing turns seconds into milliseconds; anything larger would overflow there.
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;

// Failover timers of a PSAP trunk: five minutes is already far longer than anybody waits for a
// PSAP to answer. OPTIONS probes: a probe less than hourly would not notice an outage in time.
constexpr int64_t kMaxTimeoutMs = 300 * 1000;
constexpr int64_t kMaxProbeIntervalMs = 3600 * 1000;

// Limits on ordinary calls: far above what one proxy carries, and far from int overflow.
constexpr int kMaxCount = 1000000;
constexpr int kMaxTier = 9;  // escalation tiers a site can have

// The civic fields a routing rule may match on, in RFC 5139's spelling (the file may use any
// case: "a1" is A1).
constexpr std::array<std::pair<std::string_view, std::string CivicRule::*>, 5> kMatchFields{{
    {"country", &CivicRule::country},
    {"A1", &CivicRule::a1},
    {"A2", &CivicRule::a2},
    {"A3", &CivicRule::a3},
    {"PC", &CivicRule::pc},
}};

std::string upperCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

// Seconds as written in the file ("2", "0.5", "0.25") in whole milliseconds; nullopt unless it
// is plain decimal notation with at most three decimals (no sign, no exponent: "1e3" is more
// likely a slip than a duration).
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

template <class E, size_t N>
std::string_view nameOf(const Names<E, N>& names, E value) {
  auto it =
      std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.second == value; });
  return it == names.end() ? "?" : it->first;
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<Config> run(const std::string& text) {
    config_.sourcePath = source_;
    try {
      std::vector<YAML::Node> documents = YAML::LoadAll(text);
      if (documents.empty() || documents[0].IsNull()) {
        report(YAML::Mark::null_mark(), "",
               "the file is empty; expected a mapping with carrier_trunk, trunks and sites");
      } else {
        for (size_t i = 1; i < documents.size(); ++i) {
          report(documents[i].Mark(), "", "a second YAML document; the file must hold exactly one");
        }
        readTop(Value{documents[0], "", documents[0].Mark()});
      }
    } catch (const YAML::Exception& e) {
      // yaml-cpp stops at the first syntax error, so that is the only problem reported.
      bool syntax = dynamic_cast<const YAML::ParserException*>(&e) != nullptr;
      report(e.mark, syntax ? "syntax error" : "", e.msg);
    }
    if (problems_.empty()) {
      return std::move(config_);
    }
    // In file order, whatever order the checks found them in.
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::string message;
    for (const auto& p : problems_) {
      message += (message.empty() ? "" : "\n") + p.text;
    }
    return Error{"config.invalid", std::move(message)};
  }

 private:
  void report(const YAML::Mark& mark, const std::string& key, const std::string& what) {
    // A null mark (an empty document) has no better place than the start of the file.
    int line = mark.is_null() ? 1 : mark.line + 1;
    int column = mark.is_null() ? 1 : mark.column + 1;
    problems_.push_back({line, column,
                         source_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                             ": " + (key.empty() ? "(top level)" : key) + ": " + what});
  }

  // Checks that `v` is a mapping whose keys are all known and appear once.
  std::optional<Fields> fields(const Value& v, std::initializer_list<std::string_view> known) {
    if (!v.node.IsMap()) {
      report(v.mark, v.key, "expected a mapping with keys " + joined(known, " and "));
      return std::nullopt;
    }
    Fields out;
    for (const auto& entry : v.node) {
      const YAML::Node& keyNode = entry.first;
      const YAML::Node& valueNode = entry.second;
      std::string name = keyNode.IsScalar() ? keyNode.Scalar() : "";
      std::string key = childKey(v.key, name);
      auto first = out.find(name);
      if (!keyNode.IsScalar()) {
        report(keyNode.Mark(), v.key, "a key must be a plain word");
      } else if (std::find(known.begin(), known.end(), name) == known.end()) {
        // Typo protection: a misspelt optional key would otherwise silently keep its default.
        std::string suggestion = didYouMean(name, known);
        report(keyNode.Mark(), key,
               "unknown key" +
                   (suggestion.empty() ? "; expected " + joined(known, " or ") : suggestion));
      } else if (first != out.end()) {
        report(keyNode.Mark(), key,
               "duplicate key (first at line " + std::to_string(first->second.mark.line + 1) + ")");
      } else {
        YAML::Mark mark = valueNode.IsNull() ? keyNode.Mark() : valueNode.Mark();
        out.emplace(name, Value{valueNode, key, mark});
      }
    }
    return out;
  }

  // A missing key is reported only when `required`, and blamed on the mapping that should hold it.
  std::optional<Value> get(const Fields& f, const Value& parent, std::string_view name,
                           bool required = false) {
    auto it = f.find(name);
    if (it != f.end()) {
      return it->second;
    }
    if (required) {
      report(parent.mark, childKey(parent.key, name), "required key is missing");
    }
    return std::nullopt;
  }

  std::optional<std::string> text(const Value& v) {
    if (v.node.IsScalar()) {
      return v.node.Scalar();
    }
    report(v.mark, v.key, v.node.IsNull() ? "has no value" : "expected a single value");
    return std::nullopt;
  }

  // A non-empty string that passes `check`.
  std::optional<std::string> checked(const Value& v, Check check = anyText) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    std::string problem = s->empty() ? expecting(false, "a non-empty string") : check(*s);
    if (!problem.empty()) {
      report(v.mark, v.key, inQuotes(*s) + problem);
      return std::nullopt;
    }
    return s;
  }

  std::string nonEmpty(const Value& v) { return checked(v).value_or(""); }

  std::vector<Value> list(const Value& v, bool mayBeEmpty) {
    std::vector<Value> items;
    if (!v.node.IsSequence() || (v.node.size() == 0 && !mayBeEmpty)) {
      report(v.mark, v.key, v.node.IsSequence() ? "must not be empty" : "expected a list");
      return items;
    }
    for (const auto& item : v.node) {
      // An empty item is blamed on the list: its own mark is the next token's.
      std::string key = v.key + "[" + std::to_string(items.size()) + "]";
      items.push_back(Value{item, key, item.IsNull() ? v.mark : item.Mark()});
    }
    return items;
  }

  std::vector<std::string> checkedList(const Value& v, bool mayBeEmpty, Check check) {
    std::vector<std::string> out;
    for (const auto& item : list(v, mayBeEmpty)) {
      if (auto s = checked(item, check)) {
        out.push_back(std::move(*s));
      }
    }
    return out;
  }

  std::optional<uint16_t> port(const Value& v) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    std::string_view digits = *s;
    bool negative = !digits.empty() && digits.front() == '-';
    digits.remove_prefix(negative ? 1 : 0);
    unsigned long long number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (!isDigits(digits)) {
      report(v.mark, v.key,
             inQuotes(*s) + " is not a port number; expected an integer from 1 to 65535");
    } else if (negative || ec != std::errc() || number < 1 || number > 65535) {
      report(v.mark, v.key, "port " + *s + " is out of range; expected 1 to 65535");
    } else {
      return static_cast<uint16_t>(number);
    }
    return std::nullopt;
  }

  // A whole number from 1 to kMaxSeconds.
  std::optional<int64_t> seconds(const Value& v) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    int64_t number = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
    if (isDigits(*s) && ec == std::errc::result_out_of_range) {
      number = kMaxSeconds + 1;
    } else if (!isDigits(*s) || ec != std::errc() || number == 0) {
      report(v.mark, v.key,
             inQuotes(*s) + expecting(false, "a whole number of seconds, at least 1"));
      return std::nullopt;
    }
    if (number > kMaxSeconds) {
      report(v.mark, v.key,
             inQuotes(*s) + " is too large; expected at most " + std::to_string(kMaxSeconds));
      return std::nullopt;
    }
    return number;
  }

  // A failover timer of a PSAP trunk: seconds, decimals allowed ("0.5"), kept in milliseconds.
  std::optional<int> timeoutMs(const Value& v) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    auto ms = millisecondsOf(*s);
    if (ms && *ms >= 1 && *ms <= kMaxTimeoutMs) {
      return static_cast<int>(*ms);
    }
    report(v.mark, v.key,
           inQuotes(*s) + expecting(false, "seconds from 0.001 to 300, e.g. 2 or 0.5"));
    return std::nullopt;
  }

  // The OPTIONS probe period: 0 (not probed) or at least a second, so that probes never pile
  // up on a trunk that takes its time to answer.
  std::optional<int> probeIntervalMs(const Value& v) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    auto ms = millisecondsOf(*s);
    if (ms && (*ms == 0 || (*ms >= 1000 && *ms <= kMaxProbeIntervalMs))) {
      return static_cast<int>(*ms);
    }
    report(v.mark, v.key,
           inQuotes(*s) + expecting(false, "0 (not probed) or seconds from 1 to 3600, e.g. 30"));
    return std::nullopt;
  }

  // A whole number from 0 to kMaxCount.
  std::optional<int> count(const Value& v) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    int number = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
    if (!isDigits(*s)) {
      report(v.mark, v.key, inQuotes(*s) + expecting(false, "a whole number, 0 or more"));
    } else if (ec != std::errc() || number > kMaxCount) {
      report(v.mark, v.key,
             inQuotes(*s) + " is too large; expected at most " + std::to_string(kMaxCount));
    } else {
      return number;
    }
    return std::nullopt;
  }

  // A latitude (limit 90) or longitude (limit 180) in decimal degrees.
  std::optional<double> degrees(const Value& v, double limit, std::string_view what) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    double number = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
    if (!s->empty() && ec == std::errc() && end == s->data() + s->size() && std::isfinite(number) &&
        std::fabs(number) <= limit) {
      return number;
    }
    std::string bound = std::to_string(static_cast<int>(limit));
    report(v.mark, v.key,
           inQuotes(*s) +
               expecting(false, std::string(what) + " in degrees from -" + bound + " to " + bound));
    return std::nullopt;
  }

  // A trunk name, checked against the trunks once they are all read.
  std::string trunkReference(const Value& v) {
    std::string name = nonEmpty(v);
    references_.push_back({name, v});
    return name;
  }

  // The trunks an emergency call tries, in order.
  std::vector<std::string> route(const Value& v) {
    std::vector<std::string> names;
    for (const auto& entry : list(v, false)) {
      names.push_back(trunkReference(entry));
    }
    return names;
  }

  // YAML 1.2's two words only: "yes"/"on" are the kind of YAML 1.1 surprise a reader misreads.
  std::optional<bool> boolean(const Value& v) {
    auto s = text(v);
    if (s && (*s == "true" || *s == "false")) {
      return *s == "true";
    }
    if (s) {
      report(v.mark, v.key, inQuotes(*s) + expecting(false, "true or false"));
    }
    return std::nullopt;
  }

  // Relative to the configuration file's directory, not to wherever sosproxy was started.
  std::string besideSource(const std::string& path) const {
    std::filesystem::path p(path);
    if (path.empty() || p.is_absolute()) {
      return path;
    }
    return (std::filesystem::path(source_).parent_path() / p).lexically_normal().string();
  }

  // One of a fixed set of words, with a suggestion for a near miss.
  template <class E, size_t N>
  std::optional<E> choice(const Value& v, const Names<E, N>& names) {
    auto s = text(v);
    if (!s) {
      return std::nullopt;
    }
    std::vector<std::string_view> words;
    for (const auto& [word, value] : names) {
      if (word == *s) {
        return value;
      }
      words.push_back(word);
    }
    report(v.mark, v.key,
           inQuotes(*s) + " is not one of " + joined(words, ", ") + didYouMean(*s, words));
    return std::nullopt;
  }

  // Trunks are referred to by name and sites appear in the routing log by name: one each.
  std::string uniqueName(const Value& name, const Value& item, NamesSeen& seen,
                         std::string_view kind) {
    std::string s = nonEmpty(name);
    auto [first, fresh] = seen.emplace(s, &item);
    if (!s.empty() && !fresh) {
      report(name.mark, name.key,
             "duplicate " + std::string(kind) + " name " + inQuotes(s) + " (also " +
                 first->second->key + ", line " + std::to_string(first->second->mark.line + 1) +
                 ")");
    }
    return s;
  }

  void readTop(const Value& root) {
    auto f = fields(root, {"listen", "trusted_networks", "carrier_trunk", "trunks", "sites",
                           "emergency_routing", "limits", "notifications", "logging", "store",
                           "location", "admin"});
    if (!f) {
      return;
    }
    if (auto v = get(*f, root, "listen")) {
      readListen(*v);
    }
    // Absent means nothing is trusted: sosproxy then answers every call with 403, never relays.
    if (auto v = get(*f, root, "trusted_networks")) {
      config_.trustedNetworks = checkedList(*v, true, checkNetwork);
    }
    if (auto v = get(*f, root, "carrier_trunk", true)) {
      config_.carrierTrunk = nonEmpty(*v);
      references_.push_back({config_.carrierTrunk, *v});
    }
    if (auto v = get(*f, root, "trunks", true)) {
      readTrunks(*v);
    }
    if (auto v = get(*f, root, "sites", true)) {
      readSites(*v);
    }
    if (auto v = get(*f, root, "emergency_routing")) {
      readEmergencyRouting(*v);
    }
    if (auto v = get(*f, root, "limits")) {
      readLimits(*v);
    }
    if (auto v = get(*f, root, "notifications")) {
      readNotifications(*v);
    }
    if (auto v = get(*f, root, "logging")) {
      readLogging(*v);
    }
    if (auto v = get(*f, root, "store")) {
      readStore(*v);
    }
    if (auto v = get(*f, root, "location")) {
      readLocation(*v);
    }
    if (auto v = get(*f, root, "admin")) {
      readAdmin(*v);
    }
    checkReferences();
  }

  void readListen(const Value& v) {
    auto f = fields(v, {"host_name", "address", "port", "transports"});
    if (!f) {
      return;
    }
    Listen& listen = config_.listen;
    if (auto h = get(*f, v, "host_name")) {
      listen.hostName = checked(*h, checkHostName).value_or("");
    }
    if (auto a = get(*f, v, "address")) {
      listen.address = nonEmpty(*a);
    }
    if (auto p = get(*f, v, "port")) {
      listen.port = port(*p).value_or(listen.port);
    }
    if (auto t = get(*f, v, "transports")) {
      listen.transports.clear();
      for (const auto& item : list(*t, false)) {
        auto transport = choice(item, kTransports);
        auto& have = listen.transports;
        if (transport && std::find(have.begin(), have.end(), *transport) != have.end()) {
          report(item.mark, item.key, inQuotes(toString(*transport)) + " is listed twice");
        } else if (transport) {
          have.push_back(*transport);
        }
      }
    }
  }

  void readTrunks(const Value& v) {
    NamesSeen seen;
    for (const auto& item : list(v, false)) {
      auto f = fields(item, {"name", "host", "port", "transport", "mode", "response_timeout_s",
                             "ring_timeout_s", "options_interval_s"});
      if (!f) {
        continue;
      }
      Trunk trunk;
      if (auto name = get(*f, item, "name", true)) {
        trunk.name = uniqueName(*name, item, seen, "trunk");
      }
      if (auto host = get(*f, item, "host", true)) {
        trunk.host = checked(*host, checkHost).value_or("");
      }
      if (auto p = get(*f, item, "port")) {
        trunk.port = port(*p).value_or(trunk.port);
      }
      if (auto t = get(*f, item, "transport")) {
        trunk.transport = choice(*t, kTransports).value_or(trunk.transport);
      }
      if (auto m = get(*f, item, "mode")) {
        trunk.mode = choice(*m, kModes).value_or(trunk.mode);
      }
      if (auto t = get(*f, item, "response_timeout_s")) {
        trunk.responseTimeoutMs = timeoutMs(*t).value_or(trunk.responseTimeoutMs);
      }
      if (auto t = get(*f, item, "ring_timeout_s")) {
        trunk.ringTimeoutMs = timeoutMs(*t).value_or(trunk.ringTimeoutMs);
      }
      if (auto t = get(*f, item, "options_interval_s")) {
        trunk.optionsIntervalMs = probeIntervalMs(*t).value_or(trunk.optionsIntervalMs);
      }
      config_.trunks.push_back(std::move(trunk));
    }
  }

  void readSites(const Value& v) {
    NamesSeen seen;
    for (const auto& item : list(v, false)) {
      auto f =
          fields(item, {"name", "country", "dial_strings", "outside_line_prefix", "test_numbers",
                        "extensions", "networks", "psap_route", "security_desk", "responders"});
      if (!f) {
        continue;
      }
      Site site;
      if (auto name = get(*f, item, "name", true)) {
        site.name = uniqueName(*name, item, seen, "site");
      }
      if (auto c = get(*f, item, "country", true)) {
        site.country = checked(*c, checkCountry).value_or("");
      }
      if (auto d = get(*f, item, "dial_strings", true)) {
        site.dialStrings = checkedList(*d, false, checkDialString);
      }
      if (auto p = get(*f, item, "outside_line_prefix")) {
        site.outsideLinePrefix = checked(*p, checkPrefix).value_or("");
      }
      if (auto t = get(*f, item, "test_numbers")) {
        site.testNumbers = checkedList(*t, true, checkTestNumber);
      }
      if (auto e = get(*f, item, "extensions")) {
        site.extensions = checkedList(*e, true, checkExtension);
      }
      if (auto n = get(*f, item, "networks")) {
        site.networks = checkedList(*n, true, checkNetwork);
      }
      if (auto r = get(*f, item, "psap_route", true)) {
        site.psapRoute = route(*r);
      }
      if (auto d = get(*f, item, "security_desk")) {
        site.securityDesk = checked(*d, checkSipTarget).value_or("");
      }
      if (auto r = get(*f, item, "responders")) {
        site.responders = responders(*r);
      }
      config_.sites.push_back(std::move(site));
    }
  }

  // Each responder names exactly one channel: {webhook: URL, secret: KEY}, {email: ADDRESS} or
  // {sip: URI}, with an optional tier (1 = alerted at once).
  std::vector<Responder> responders(const Value& v) {
    std::vector<Responder> out;
    for (const auto& item : list(v, true)) {
      auto f = fields(item, {"webhook", "email", "sip", "secret", "tier"});
      if (!f) {
        continue;
      }
      Responder r;
      int channels = 0;
      if (auto w = get(*f, item, "webhook")) {
        ++channels;
        r.channel = Responder::Channel::Webhook;
        r.target = checked(*w, checkWebhookUrl).value_or("");
      }
      if (auto e = get(*f, item, "email")) {
        ++channels;
        r.channel = Responder::Channel::Email;
        r.target = checked(*e, checkEmail).value_or("");
      }
      if (auto sip = get(*f, item, "sip")) {
        ++channels;
        r.channel = Responder::Channel::Sip;
        r.target = checked(*sip, checkSipTarget).value_or("");
      }
      if (channels != 1) {
        report(item.mark, item.key,
               channels == 0 ? "a responder needs one of webhook, email or sip"
                             : "a responder has one channel: webhook, email or sip, not several");
      }
      if (auto k = get(*f, item, "secret")) {
        r.secret = nonEmpty(*k);
        if (r.channel != Responder::Channel::Webhook) {
          report(k->mark, k->key, "only a webhook responder has a secret");
        }
      }
      if (auto t = get(*f, item, "tier")) {
        auto tier = count(*t);
        if (tier && (*tier < 1 || *tier > kMaxTier)) {
          report(t->mark, t->key,
                 inQuotes(std::to_string(*tier)) +
                     expecting(false, "a tier from 1 to " + std::to_string(kMaxTier)));
        } else if (tier) {
          r.tier = *tier;
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  void readNotifications(const Value& v) {
    auto f = fields(v, {"smtp", "escalate_after_s", "timeout_s", "max_attempts", "retry_initial_s",
                        "retry_max_s"});
    if (!f) {
      return;
    }
    Notifications& n = config_.notifications;
    if (auto smtp = get(*f, v, "smtp")) {
      if (auto sf = fields(*smtp, {"host", "port", "from"})) {
        if (auto h = get(*sf, *smtp, "host")) {
          n.smtpHost = checked(*h, checkAddress).value_or(n.smtpHost);
        }
        if (auto p = get(*sf, *smtp, "port")) {
          n.smtpPort = port(*p).value_or(n.smtpPort);
        }
        if (auto from = get(*sf, *smtp, "from")) {
          n.mailFrom = checked(*from, checkEmail).value_or(n.mailFrom);
        }
      }
    }
    if (auto e = get(*f, v, "escalate_after_s")) {
      n.escalateAfterSeconds = static_cast<int>(seconds(*e).value_or(n.escalateAfterSeconds));
    }
    if (auto t = get(*f, v, "timeout_s")) {
      n.timeoutMs = timeoutMs(*t).value_or(n.timeoutMs);
    }
    if (auto m = get(*f, v, "max_attempts")) {
      auto attempts = count(*m);
      if (attempts && *attempts < 1) {
        report(m->mark, m->key, "\"0\"" + expecting(false, "at least 1 attempt"));
      } else if (attempts) {
        n.maxAttempts = *attempts;
      }
    }
    if (auto r = get(*f, v, "retry_initial_s")) {
      n.retryInitialMs = timeoutMs(*r).value_or(n.retryInitialMs);
    }
    if (auto r = get(*f, v, "retry_max_s")) {
      n.retryMaxMs = timeoutMs(*r).value_or(n.retryMaxMs);
    }
  }

  void readLogging(const Value& v) {
    auto f = fields(v, {"level", "format", "routing_log"});
    if (!f) {
      return;
    }
    Logging& logging = config_.logging;
    if (auto l = get(*f, v, "level")) {
      logging.level = std::string(choice(*l, kLevels).value_or(logging.level));
    }
    if (auto fmt = get(*f, v, "format")) {
      logging.format = choice(*fmt, kFormats).value_or(logging.format);
    }
    if (auto r = get(*f, v, "routing_log")) {
      logging.routingLog = nonEmpty(*r);
    }
  }

  void readStore(const Value& v) {
    auto f = fields(v, {"path", "seed"});
    if (!f) {
      return;
    }
    if (auto p = get(*f, v, "path")) {
      config_.store.path = besideSource(nonEmpty(*p));
    }
    if (auto s = get(*f, v, "seed")) {
      config_.store.seed = besideSource(nonEmpty(*s));
    }
  }

  void readLocation(const Value& v) {
    auto f = fields(v, {"precedence", "stale_after_s", "callback_window_s"});
    if (!f) {
      return;
    }
    LocationSettings& location = config_.location;
    if (auto p = get(*f, v, "precedence")) {
      location.precedence.clear();
      for (const auto& item : list(*p, false)) {
        auto signal = choice(item, kSignals);
        auto& have = location.precedence;
        // A signal listed twice would only ever be tried at its first place: surely a slip.
        if (signal && std::find(have.begin(), have.end(), *signal) != have.end()) {
          report(item.mark, item.key, inQuotes(*signal) + " is listed twice");
        } else if (signal) {
          have.emplace_back(*signal);
        }
      }
    }
    if (auto s = get(*f, v, "stale_after_s")) {
      location.staleAfterSeconds = seconds(*s).value_or(location.staleAfterSeconds);
    }
    if (auto s = get(*f, v, "callback_window_s")) {
      location.callbackWindowSeconds = seconds(*s).value_or(location.callbackWindowSeconds);
    }
  }

  void readAdmin(const Value& v) {
    auto f = fields(v, {"address", "port", "enabled"});
    if (!f) {
      return;
    }
    Admin& admin = config_.admin;
    if (auto a = get(*f, v, "address")) {
      admin.address = checked(*a, checkAddress).value_or(admin.address);
    }
    if (auto p = get(*f, v, "port")) {
      admin.port = port(*p).value_or(admin.port);
    }
    if (auto e = get(*f, v, "enabled")) {
      admin.enabled = boolean(*e).value_or(admin.enabled);
    }
  }

  void readEmergencyRouting(const Value& v) {
    auto f = fields(v, {"erc", "test_destination", "civic_rules", "boundaries"});
    if (!f) {
      return;
    }
    EmergencyRouting& routing = config_.emergencyRouting;
    if (auto e = get(*f, v, "erc")) {
      routing.erc = trunkReference(*e);
    }
    if (auto t = get(*f, v, "test_destination")) {
      routing.testDestination = trunkReference(*t);
    }
    if (auto r = get(*f, v, "civic_rules")) {
      std::vector<Value> matches;  // of the rules read so far, parallel to civicRules
      for (const auto& item : list(*r, true)) {
        readCivicRule(item, matches);
      }
    }
    if (auto b = get(*f, v, "boundaries")) {
      NamesSeen seen;
      for (const auto& item : list(*b, true)) {
        readBoundary(item, seen);
      }
    }
  }

  void readCivicRule(const Value& item, std::vector<Value>& matches) {
    auto f = fields(item, {"match", "route"});
    if (!f) {
      return;
    }
    CivicRule rule;
    auto m = get(*f, item, "match", true);
    if (m) {
      readMatch(*m, rule);
    }
    if (auto r = get(*f, item, "route", true)) {
      rule.route = route(*r);
    }
    // Of two rules with the same match the first always wins: the second is surely a slip.
    auto& rules = config_.emergencyRouting.civicRules;
    for (size_t i = 0; m && i < rules.size(); ++i) {
      bool same = std::all_of(kMatchFields.begin(), kMatchFields.end(), [&](const auto& field) {
        return equalsNoCase(rule.*field.second, rules[i].*field.second);
      });
      if (same && !(rule.country + rule.a1 + rule.a2 + rule.a3 + rule.pc).empty()) {
        report(m->mark, m->key,
               "the same match as " + matches[i].key + " (line " +
                   std::to_string(matches[i].mark.line + 1) +
                   "), which always wins; this rule would never be used");
        break;
      }
    }
    matches.push_back(m.value_or(item));
    rules.push_back(std::move(rule));
  }

  // "{country: US, A1: IL}": RFC 5139 element names, in any case.
  void readMatch(const Value& v, CivicRule& rule) {
    std::vector<std::string_view> names;
    for (const auto& field : kMatchFields) {
      names.push_back(field.first);
    }
    if (!v.node.IsMap() || v.node.size() == 0) {
      report(v.mark, v.key,
             v.node.IsMap() ? "must name at least one of " + joined(names, " or ")
                            : "expected a mapping of " + joined(names, ", ") +
                                  " (RFC 5139), e.g. {country: US, A1: IL}");
      return;
    }
    std::map<std::string_view, YAML::Mark> seen;
    for (const auto& entry : v.node) {
      const YAML::Node& keyNode = entry.first;
      std::string name = keyNode.IsScalar() ? keyNode.Scalar() : "";
      std::string key = childKey(v.key, name);
      auto field = std::find_if(kMatchFields.begin(), kMatchFields.end(),
                                [&](const auto& f) { return equalsNoCase(f.first, name); });
      if (!keyNode.IsScalar()) {
        report(keyNode.Mark(), v.key, "a key must be a plain word");
      } else if (field == kMatchFields.end()) {
        // Compared without case, as the names are. Two-letter names get a suggestion only one
        // edit away, and never A4..A6: those are real RFC 5139 elements that rules do not
        // match on, not typos of A1..A3.
        std::string_view best;
        size_t bestDistance = 3;
        bool otherElement = name.size() == 2 && (name[0] == 'A' || name[0] == 'a') &&
                            name[1] >= '4' && name[1] <= '6';
        for (std::string_view candidate : names) {
          size_t d = editDistance(upperCase(name), upperCase(candidate));
          if (!otherElement && d <= (candidate.size() > 2 ? 2u : 1u) && d < bestDistance) {
            best = candidate;
            bestDistance = d;
          }
        }
        report(keyNode.Mark(), key,
               "unknown key" + (best.empty() ? "; a rule matches on " + joined(names, " and ")
                                             : "; did you mean " + inQuotes(best) + "?"));
      } else if (auto first = seen.find(field->first); first != seen.end()) {
        report(keyNode.Mark(), key,
               "duplicate key (first at line " + std::to_string(first->second.line + 1) + ")");
      } else {
        seen.emplace(field->first, keyNode.Mark());
        Value value{entry.second, key,
                    entry.second.IsNull() ? keyNode.Mark() : entry.second.Mark()};
        auto s = checked(value);
        if (s && field->first == "country") {
          // Country codes are upper case wherever sosproxy keeps them.
          std::string upper = upperCase(*s);
          if (checkCountry(upper).empty()) {
            rule.country = upper;
          } else {
            report(value.mark, value.key,
                   inQuotes(*s) + expecting(false, "two letters (ISO 3166), e.g. \"US\""));
          }
        } else if (s) {
          rule.*field->second = *s;
        }
      }
    }
  }

  void readBoundary(const Value& item, NamesSeen& seen) {
    auto f = fields(item, {"name", "polygon", "route"});
    if (!f) {
      return;
    }
    Boundary boundary;
    if (auto n = get(*f, item, "name", true)) {
      boundary.name = uniqueName(*n, item, seen, "boundary");
    }
    if (auto p = get(*f, item, "polygon", true)) {
      boundary.polygon = polygon(*p);
    }
    if (auto r = get(*f, item, "route", true)) {
      boundary.route = route(*r);
    }
    config_.emergencyRouting.boundaries.push_back(std::move(boundary));
  }

  // "[[39.70, -89.75], [39.90, -89.75], ...]": (latitude, longitude) points; the polygon closes
  // itself.
  std::vector<std::pair<double, double>> polygon(const Value& v) {
    std::vector<std::pair<double, double>> points;
    auto items = list(v, false);
    if (!items.empty() && items.size() < 3) {
      report(v.mark, v.key,
             "has " + std::to_string(items.size()) + " point" + (items.size() == 1 ? "" : "s") +
                 "; a polygon needs at least 3");
    }
    for (const auto& item : items) {
      if (!item.node.IsSequence() || item.node.size() != 2) {
        report(item.mark, item.key, "expected a point [latitude, longitude], e.g. [39.78, -89.65]");
        continue;
      }
      auto coordinates = list(item, false);
      auto latitude = degrees(coordinates[0], 90, "a latitude");
      auto longitude = degrees(coordinates[1], 180, "a longitude");
      if (latitude && longitude) {
        points.emplace_back(*latitude, *longitude);
      }
    }
    return points;
  }

  void readLimits(const Value& v) {
    auto f = fields(v, {"ordinary_calls_per_second", "ordinary_burst", "max_ordinary_calls",
                        "overload_lag_ms"});
    if (!f) {
      return;
    }
    Limits& limits = config_.limits;
    if (auto r = get(*f, v, "ordinary_calls_per_second")) {
      limits.ordinaryCallsPerSecond = count(*r).value_or(limits.ordinaryCallsPerSecond);
    }
    if (auto b = get(*f, v, "ordinary_burst")) {
      limits.ordinaryBurst = count(*b).value_or(limits.ordinaryBurst);
    }
    if (auto m = get(*f, v, "max_ordinary_calls")) {
      limits.maxOrdinaryCalls = count(*m).value_or(limits.maxOrdinaryCalls);
    }
    if (auto l = get(*f, v, "overload_lag_ms")) {
      limits.overloadLagMs = count(*l).value_or(limits.overloadLagMs);
    }
  }

  // After every trunk is read, so a route may name a trunk defined further down.
  void checkReferences() {
    std::vector<std::string> names;
    for (const auto& t : config_.trunks) {
      names.push_back(t.name);
    }
    for (const auto& ref : references_) {
      // An empty name was already reported where it was read.
      if (!ref.name.empty() && std::find(names.begin(), names.end(), ref.name) == names.end()) {
        report(ref.where.mark, ref.where.key,
               "no trunk is named " + inQuotes(ref.name) + didYouMean(ref.name, names));
      }
    }
  }

  std::string source_;
  Config config_;
  std::vector<TrunkReference> references_;
  std::vector<Problem> problems_;
};

}  // namespace

const Trunk* Config::findTrunk(std::string_view name) const {
  auto it =
      std::find_if(trunks.begin(), trunks.end(), [&](const Trunk& t) { return t.name == name; });
  return it == trunks.end() ? nullptr : &*it;
}

const Site* Config::findSite(std::string_view name) const {
  auto it = std::find_if(sites.begin(), sites.end(), [&](const Site& s) { return s.name == name; });
  return it == sites.end() ? nullptr : &*it;
}

Result<Config> loadConfig(const std::string& path) {
  auto text = readWholeFile(path);
  if (!text.ok())
    return Error{"config.unreadable", path + ": cannot read: " + text.error().message};
  return parseConfig(text.value(), path);
}

Result<Config> parseConfig(const std::string& yamlText, const std::string& sourceName) {
  return Parser(sourceName).run(yamlText);
}

std::string_view toString(Transport t) { return nameOf(kTransports, t); }

std::string_view toString(TrunkMode m) { return nameOf(kModes, m); }

std::string_view toString(Responder::Channel c) {
  switch (c) {
    case Responder::Channel::Webhook:
      return "webhook";
    case Responder::Channel::Email:
      return "email";
    case Responder::Channel::Sip:
      return "sip";
  }
  return "?";
}

}  // namespace sos::config
