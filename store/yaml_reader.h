#pragma once
// Internal to store/: reading YAML with every problem collected as "FILE:LINE:COLUMN: KEY:
// message", in file order, the way the configuration loader reports them. The seed parser
// builds on it; yaml-cpp is seen by store/ .cpp files only.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/text.h"
#include "store/seed.h"

namespace sos::store {

using sos::didYouMean;  // base/text.h, shared with the configuration loader

// A node, the dotted key that leads to it ("locations[1].elins[0]") and the place to blame.
// An empty value is blamed on its key: yaml-cpp marks a null at the next token, which is often
// on a later line.
struct YamlValue {
  YAML::Node node;
  std::string key;
  YAML::Mark mark;
};

// A mapping's entries by key, first occurrence only.
using YamlFields = std::map<std::string, YamlValue, std::less<>>;

// A check returns what is wrong with a value (the text after the quoted value), or "".
using Check = std::string (*)(std::string_view);

std::string childKey(const std::string& parent, std::string_view key);
std::string inQuotes(std::string_view s);
std::string joined(const std::vector<std::string_view>& words);  // "a, b, c"
std::string expecting(bool ok, std::string_view expected);

std::string anyText(std::string_view);
std::string checkCountry(std::string_view s);    // ISO 3166 alpha-2, upper case
std::string checkKey(std::string_view s);        // a location key: "hq-floor-2"
std::string checkExtension(std::string_view s);  // digits
std::string checkE164(std::string_view s);       // "+12175550100"
std::string checkMac(std::string_view s);
std::string checkBssid(std::string_view s);      // a MAC, or one ending in '*'
std::string checkNetwork(std::string_view s);    // an address or a CIDR network, v4 or v6
std::string checkTrunkName(std::string_view s);  // one word: "il-psap-a"

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  // Loads `text` (exactly one document, a mapping) and hands its root to `readRoot`; then
  // returns every problem found, or nullopt when there were none.
  std::optional<Error> read(const std::string& text, const std::string& errorCode,
                            const std::function<void(const YamlValue&)>& readRoot);

  static SeedPlace place(const YAML::Mark& mark, const std::string& key);
  static SeedPlace place(const YamlValue& v) { return place(v.mark, v.key); }

  void report(const YAML::Mark& mark, const std::string& key, const std::string& what);
  void report(const YamlValue& v, const std::string& what) { report(v.mark, v.key, what); }

  // Checks that `v` is a mapping whose keys are all known and appear once.
  std::optional<YamlFields> fields(const YamlValue& v,
                                   std::initializer_list<std::string_view> known);
  // A missing key is reported only when `required`, and blamed on the mapping that should
  // hold it.
  std::optional<YamlValue> get(const YamlFields& f, const YamlValue& parent, std::string_view name,
                               bool required = false);
  // A non-empty single value that passes `check`.
  std::optional<std::string> checked(const YamlValue& v, Check check = anyText);
  // The value of a required key, or "" once the problem is reported.
  std::string required(const YamlFields& f, const YamlValue& parent, std::string_view name,
                       Check check = anyText);
  std::vector<YamlValue> list(const YamlValue& v);
  std::optional<bool> boolean(const YamlValue& v);
  std::optional<double> degrees(const YamlValue& v, double limit);  // within ±limit
  // Records `value` in `seen`; reports a second use naming the first one.
  bool unique(std::map<std::string, SeedPlace>& seen, const std::string& value, const YamlValue& v,
              std::string_view what);

 private:
  struct Problem {
    int line;
    int column;
    std::string text;
  };
  std::string source_;
  std::vector<Problem> problems_;
};

}  // namespace sos::store
