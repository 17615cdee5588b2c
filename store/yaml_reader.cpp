// YamlReader and the value checks of yaml_reader.h, with the same rules and error style as the
// configuration loader; the small checks both need live in base/text.h.

#include "store/yaml_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "base/text.h"
#include "model/e164.h"
#include "model/network.h"
#include "store/db.h"

namespace sos::store {

std::string childKey(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string inQuotes(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string joined(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view w : words) {
    out += (out.empty() ? "" : ", ") + std::string(w);
  }
  return out;
}

std::string expecting(bool ok, std::string_view expected) {
  return ok ? "" : " is not valid; expected " + std::string(expected);
}

std::string anyText(std::string_view) { return ""; }

std::string checkCountry(std::string_view s) {
  bool ok =
      s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return expecting(ok, "two upper-case letters (ISO 3166), e.g. \"US\"");
}

// Keys appear in admin URLs and logs: one plain word.
std::string checkKey(std::string_view s) {
  bool ok =
      s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      });
  return expecting(ok, "lower-case letters, digits, '-', '_' or '.', e.g. \"hq-floor-2\"");
}

std::string checkExtension(std::string_view s) {
  return expecting(isDigits(s), "digits, e.g. \"1001\"");
}

std::string checkE164(std::string_view s) {
  return expecting(model::isE164(s), "an E.164 number, e.g. \"+12175550100\"");
}

std::string checkMac(std::string_view s) {
  return expecting(storedMac(s, false).has_value(),
                   "a MAC address, e.g. \"00:04:f2:00:10:01\"");
}

std::string checkBssid(std::string_view s) {
  return expecting(storedMac(s, true).has_value(),
                   "a BSSID, e.g. \"00:11:22:33:44:55\" or \"00:11:22:33:44:5*\"");
}

std::string checkNetwork(std::string_view text) {
  return expecting(model::cidrProblem(text).empty(),
                   "an IPv4 or IPv6 address or network in CIDR form, e.g. \"10.1.2.0/24\"");
}

// Stored space-separated (locations.psap_route), so a name must hold no white space.
std::string checkTrunkName(std::string_view s) {
  bool ok = std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
  return expecting(ok, "a trunk name without spaces, e.g. \"il-psap-a\"");
}

std::optional<Error> YamlReader::read(const std::string& text, const std::string& errorCode,
                                      const std::function<void(const YamlValue&)>& readRoot) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (documents.empty() || documents[0].IsNull()) {
      report(YAML::Mark::null_mark(), "", "the file is empty");
    } else {
      for (size_t i = 1; i < documents.size(); ++i) {
        report(documents[i].Mark(), "", "a second YAML document; the file must hold exactly one");
      }
      readRoot(YamlValue{documents[0], "", documents[0].Mark()});
    }
  } catch (const YAML::Exception& e) {
    // yaml-cpp stops at the first syntax error, so that is the only problem reported.
    bool syntax = dynamic_cast<const YAML::ParserException*>(&e) != nullptr;
    report(e.mark, syntax ? "syntax error" : "", e.msg);
  }
  if (problems_.empty()) {
    return std::nullopt;
  }
  // In file order, whatever order the checks found them in.
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::string message;
  for (const auto& p : problems_) {
    message += (message.empty() ? "" : "\n") + p.text;
  }
  return Error{errorCode, std::move(message)};
}

SeedPlace YamlReader::place(const YAML::Mark& mark, const std::string& key) {
  // A null mark (an empty document) has no better place than the start of the file.
  return {mark.is_null() ? 1 : mark.line + 1, mark.is_null() ? 1 : mark.column + 1, key};
}

void YamlReader::report(const YAML::Mark& mark, const std::string& key, const std::string& what) {
  SeedPlace at = place(mark, key);
  problems_.push_back({at.line, at.column, seedProblem(source_, at, what)});
}

std::optional<YamlFields> YamlReader::fields(const YamlValue& v,
                                             std::initializer_list<std::string_view> known) {
  std::vector<std::string_view> names(known);
  if (!v.node.IsMap()) {
    report(v, "expected a mapping with keys " + joined(names));
    return std::nullopt;
  }
  YamlFields out;
  for (const auto& entry : v.node) {
    std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
    std::string key = childKey(v.key, name);
    if (!entry.first.IsScalar()) {
      report(entry.first.Mark(), v.key, "a key must be a plain word");
    } else if (std::find(names.begin(), names.end(), name) == names.end()) {
      // A misspelt optional key would otherwise be ignored and its data silently lost.
      std::string suggestion = didYouMean(name, names);
      report(
          entry.first.Mark(), key,
          "unknown key" + (suggestion.empty() ? "; expected one of " + joined(names) : suggestion));
    } else if (auto first = out.find(name); first != out.end()) {
      report(entry.first.Mark(), key,
             "duplicate key (first at line " + std::to_string(first->second.mark.line + 1) + ")");
    } else {
      YAML::Mark mark = entry.second.IsNull() ? entry.first.Mark() : entry.second.Mark();
      out.emplace(name, YamlValue{entry.second, key, mark});
    }
  }
  return out;
}

std::optional<YamlValue> YamlReader::get(const YamlFields& f, const YamlValue& parent,
                                         std::string_view name, bool required) {
  if (auto it = f.find(name); it != f.end()) {
    return it->second;
  }
  if (required) {
    report(parent.mark, childKey(parent.key, name), "required key is missing");
  }
  return std::nullopt;
}

std::optional<std::string> YamlReader::checked(const YamlValue& v, Check check) {
  if (!v.node.IsScalar()) {
    report(v, v.node.IsNull() ? "has no value" : "expected a single value");
    return std::nullopt;
  }
  const std::string& s = v.node.Scalar();
  std::string problem = s.empty() ? expecting(false, "a non-empty string") : check(s);
  if (!problem.empty()) {
    report(v, inQuotes(s) + problem);
    return std::nullopt;
  }
  return s;
}

std::string YamlReader::required(const YamlFields& f, const YamlValue& parent,
                                 std::string_view name, Check check) {
  auto v = get(f, parent, name, true);
  return v ? checked(*v, check).value_or("") : "";
}

std::vector<YamlValue> YamlReader::list(const YamlValue& v) {
  std::vector<YamlValue> items;
  if (!v.node.IsSequence()) {
    report(v, "expected a list");
    return items;
  }
  for (const auto& item : v.node) {
    // An empty item is blamed on the list: its own mark is the next token's.
    std::string key = v.key + "[" + std::to_string(items.size()) + "]";
    items.push_back(YamlValue{item, key, item.IsNull() ? v.mark : item.Mark()});
  }
  return items;
}

// YAML 1.2's two words only: "yes"/"on" are the kind of YAML 1.1 surprise a reader misreads.
std::optional<bool> YamlReader::boolean(const YamlValue& v) {
  auto s = checked(v);
  if (s && (*s == "true" || *s == "false")) {
    return *s == "true";
  }
  if (s) {
    report(v, inQuotes(*s) + expecting(false, "true or false"));
  }
  return std::nullopt;
}

std::optional<double> YamlReader::degrees(const YamlValue& v, double limit) {
  auto s = checked(v);
  if (!s) {
    return std::nullopt;
  }
  double d = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), d);
  if (ec == std::errc() && end == s->data() + s->size() && std::isfinite(d) &&
      std::fabs(d) <= limit) {
    return d;
  }
  std::string bound = std::to_string(static_cast<int>(limit));
  report(v, inQuotes(*s) + expecting(false, "degrees from -" + bound + " to " + bound));
  return std::nullopt;
}

bool YamlReader::unique(std::map<std::string, SeedPlace>& seen, const std::string& value,
                        const YamlValue& v, std::string_view what) {
  auto [first, fresh] = seen.emplace(value, place(v));
  if (!fresh) {
    report(v, "duplicate " + std::string(what) + " " + inQuotes(value) + " (also " +
                  first->second.key + ", line " + std::to_string(first->second.line) + ")");
  }
  return fresh;
}

}  // namespace sos::store
