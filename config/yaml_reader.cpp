// YamlReader and the checks both YAML inputs share (see yaml_reader.h).

#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "model/network.h"

namespace sos::config {

std::string yamlProblem(const std::string& source, const YamlPlace& at, std::string_view what) {
  std::string out = source;
  out += ':';
  out += std::to_string(at.line);
  out += ':';
  out += std::to_string(at.column);
  out += ": ";
  out += at.key.empty() ? "(top level)" : at.key;
  out += ": ";
  out += what;
  return out;
}

std::string childKey(const std::string& parent, std::string_view key) {
  std::string out = parent;
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string inQuotes(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string joined(const std::vector<std::string_view>& words, std::string_view last) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? last : std::string_view(", ");
    out += words[i];
  }
  return out;
}

std::string expecting(bool ok, std::string_view expected) {
  if (ok) return "";
  std::string out = " is not valid; expected ";
  out += expected;
  return out;
}

std::string anyText(std::string_view) { return ""; }

std::string checkCountry(std::string_view s) {
  bool ok =
      s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return expecting(ok, "two upper-case letters (ISO 3166), e.g. \"US\"");
}

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a host route), with model's reason.
std::string checkNetwork(std::string_view text) {
  std::string problem = model::cidrProblem(text);
  return problem.empty() ? "" : " is not a network in CIDR form: " + problem;
}

std::optional<Error> YamlReader::read(const std::string& text, const std::string& errorCode,
                                      std::string_view emptyHint,
                                      const std::function<void(const YamlValue&)>& readRoot) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (documents.empty() || documents[0].IsNull()) {
      report(YAML::Mark::null_mark(), "", "the file is empty" + std::string(emptyHint));
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
  if (problems_.empty()) return std::nullopt;
  // In file order, whatever order the checks found them in.
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::string message;
  for (const auto& p : problems_) {
    if (!message.empty()) message += '\n';
    message += p.text;
  }
  return Error{errorCode, std::move(message)};
}

YamlPlace YamlReader::place(const YAML::Mark& mark, const std::string& key) {
  // A null mark (an empty document) has no better place than the start of the file.
  return {mark.is_null() ? 1 : mark.line + 1, mark.is_null() ? 1 : mark.column + 1, key};
}

void YamlReader::report(const YAML::Mark& mark, const std::string& key, const std::string& what) {
  YamlPlace at = place(mark, key);
  problems_.push_back({at.line, at.column, yamlProblem(source_, at, what)});
}

std::optional<YamlFields> YamlReader::fields(const YamlValue& v,
                                             std::initializer_list<std::string_view> known) {
  std::vector<std::string_view> names(known);
  if (!v.node.IsMap()) {
    report(v, "expected a mapping with keys " + joined(names, " and "));
    return std::nullopt;
  }
  YamlFields out;
  for (const auto& entry : v.node) {
    const YAML::Node& keyNode = entry.first;
    const YAML::Node& valueNode = entry.second;
    std::string name = keyNode.IsScalar() ? keyNode.Scalar() : "";
    std::string key = childKey(v.key, name);
    if (!keyNode.IsScalar()) {
      report(keyNode.Mark(), v.key, "a key must be a plain word");
    } else if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string suggestion = didYouMean(name, names);
      report(keyNode.Mark(), key,
             "unknown key" +
                 (suggestion.empty() ? "; expected " + joined(names, " or ") : suggestion));
    } else if (auto first = out.find(name); first != out.end()) {
      report(keyNode.Mark(), key,
             "duplicate key (first at line " + std::to_string(first->second.mark.line + 1) + ")");
    } else {
      YAML::Mark mark = valueNode.IsNull() ? keyNode.Mark() : valueNode.Mark();
      out.emplace(name, YamlValue{valueNode, key, mark});
    }
  }
  return out;
}

std::optional<YamlValue> YamlReader::get(const YamlFields& f, const YamlValue& parent,
                                         std::string_view name, bool required) {
  if (auto it = f.find(name); it != f.end()) return it->second;
  if (required) report(parent.mark, childKey(parent.key, name), "required key is missing");
  return std::nullopt;
}

std::optional<std::string> YamlReader::text(const YamlValue& v) {
  if (v.node.IsScalar()) return v.node.Scalar();
  report(v, v.node.IsNull() ? "has no value" : "expected a single value");
  return std::nullopt;
}

std::optional<std::string> YamlReader::checked(const YamlValue& v, Check check) {
  auto s = text(v);
  if (!s) return std::nullopt;
  std::string problem = s->empty() ? expecting(false, "a non-empty string") : check(*s);
  if (!problem.empty()) {
    report(v, inQuotes(*s) + problem);
    return std::nullopt;
  }
  return s;
}

std::string YamlReader::required(const YamlFields& f, const YamlValue& parent,
                                 std::string_view name, Check check) {
  auto v = get(f, parent, name, true);
  return v ? checked(*v, check).value_or("") : "";
}

std::vector<YamlValue> YamlReader::list(const YamlValue& v, bool mayBeEmpty) {
  std::vector<YamlValue> items;
  if (!v.node.IsSequence() || (v.node.size() == 0 && !mayBeEmpty)) {
    report(v, v.node.IsSequence() ? "must not be empty" : "expected a list");
    return items;
  }
  for (const auto& item : v.node) {
    // An empty item is blamed on the list: its own mark is the next token's.
    std::string key = v.key + "[" + std::to_string(items.size()) + "]";
    items.push_back(YamlValue{item, key, item.IsNull() ? v.mark : item.Mark()});
  }
  return items;
}

std::vector<std::string> YamlReader::checkedList(const YamlValue& v, bool mayBeEmpty, Check check) {
  std::vector<std::string> out;
  for (const auto& item : list(v, mayBeEmpty)) {
    if (auto s = checked(item, check)) out.push_back(std::move(*s));
  }
  return out;
}

std::optional<bool> YamlReader::boolean(const YamlValue& v) {
  auto s = text(v);
  if (s && (*s == "true" || *s == "false")) return *s == "true";
  if (s) report(v, inQuotes(*s) + expecting(false, "true or false"));
  return std::nullopt;
}

std::optional<double> YamlReader::degrees(const YamlValue& v, double limit, std::string_view what) {
  auto s = text(v);
  if (!s) return std::nullopt;
  double number = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
  if (!s->empty() && ec == std::errc() && end == s->data() + s->size() && std::isfinite(number) &&
      std::fabs(number) <= limit) {
    return number;
  }
  std::string bound = std::to_string(static_cast<int>(limit));
  report(v, inQuotes(*s) + expecting(false, std::string(what) + " in degrees from -" + bound +
                                                " to " + bound));
  return std::nullopt;
}

bool YamlReader::unique(Seen& seen, const std::string& value, const YamlValue& v,
                        std::string_view what) {
  return unique(seen, value, v, what, v);
}

bool YamlReader::unique(Seen& seen, const std::string& value, const YamlValue& v,
                        std::string_view what, const YamlValue& remembered) {
  auto [first, fresh] = seen.emplace(value, place(remembered));
  if (!fresh) {
    report(v, "duplicate " + std::string(what) + " " + inQuotes(value) + " (also " +
                  first->second.key + ", line " + std::to_string(first->second.line) + ")");
  }
  return fresh;
}

}  // namespace sos::config
