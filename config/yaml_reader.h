#pragma once
// Reading YAML that people write: every problem is collected (not just the first) as
// "FILE:LINE:COLUMN: KEY: what is wrong", in file order, so a bad file is refused with all of
// its mistakes listed at once. The one reader of both YAML inputs, the configuration
// (config.cpp) and the location seed (store/seed.cpp); yaml-cpp is seen by their .cpp files
// only. Used on whichever thread loads the file; a reader serves one file once.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/text.h"
#include "config/yaml_place.h"

namespace sos::config {

// A node, the dotted key that leads to it ("trunks[1].port") and the place to blame for it.
// An empty value ("port:") is blamed on its key: yaml-cpp marks a null at the next token,
// which is often on a later line.
struct YamlValue {
  YAML::Node node;
  std::string key;
  YAML::Mark mark;
};

// A mapping's entries by key, first occurrence only.
using YamlFields = std::map<std::string, YamlValue, std::less<>>;

// "SOURCE:LINE:COLUMN: KEY: what" ("(top level)" for an empty key).
std::string yamlProblem(const std::string& source, const YamlPlace& at, std::string_view what);

// A check returns what is wrong with a value (the text after the quoted value), or "".
using Check = std::string (*)(std::string_view);

std::string childKey(const std::string& parent, std::string_view key);
// Not "quoted": std::quoted, which <filesystem> brings in, would win overload resolution by ADL.
std::string inQuotes(std::string_view s);
// "a, b and c": `last` joins the final pair (" and ", " or ").
std::string joined(const std::vector<std::string_view>& words, std::string_view last);
// " is not valid; expected EXPECTED", or "" when ok.
std::string expecting(bool ok, std::string_view expected);

// Checks both files make.
std::string anyText(std::string_view);
std::string checkCountry(std::string_view s);  // ISO 3166 alpha-2, upper case: "US"
std::string checkNetwork(std::string_view s);  // an address or a CIDR network, v4 or v6

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  // Loads `text`, which must hold exactly one document, and hands its root to `readRoot`; then
  // returns every problem found (Error `errorCode`, one line each), or nullopt when there were
  // none. `emptyHint` follows "the file is empty" for an empty file ("; expected ...").
  std::optional<Error> read(const std::string& text, const std::string& errorCode,
                            std::string_view emptyHint,
                            const std::function<void(const YamlValue&)>& readRoot);

  const std::string& source() const { return source_; }
  static YamlPlace place(const YAML::Mark& mark, const std::string& key);
  static YamlPlace place(const YamlValue& v) { return place(v.mark, v.key); }

  void report(const YAML::Mark& mark, const std::string& key, const std::string& what);
  void report(const YamlValue& v, const std::string& what) { report(v.mark, v.key, what); }

  // Checks that `v` is a mapping whose keys are all known and appear once. A misspelt optional
  // key would otherwise silently keep its default, so unknown keys are problems.
  std::optional<YamlFields> fields(const YamlValue& v,
                                   std::initializer_list<std::string_view> known);
  // A missing key is reported only when `required`, and blamed on the mapping that should
  // hold it.
  std::optional<YamlValue> get(const YamlFields& f, const YamlValue& parent, std::string_view name,
                               bool required = false);
  // A single value (possibly empty).
  std::optional<std::string> text(const YamlValue& v);
  // A non-empty single value that passes `check`.
  std::optional<std::string> checked(const YamlValue& v, Check check = anyText);
  // The value of a required key, or "" once the problem is reported.
  std::string required(const YamlFields& f, const YamlValue& parent, std::string_view name,
                       Check check = anyText);
  // The items of a list, each with its key ("sites[0]"); an empty list is a problem unless
  // `mayBeEmpty`.
  std::vector<YamlValue> list(const YamlValue& v, bool mayBeEmpty = true);
  // Every item passing `check`.
  std::vector<std::string> checkedList(const YamlValue& v, bool mayBeEmpty, Check check);
  // YAML 1.2's two words only: "yes"/"on" are the kind of YAML 1.1 surprise a reader misreads.
  std::optional<bool> boolean(const YamlValue& v);
  // Decimal degrees within ±limit; `what` names them in the message ("a latitude").
  std::optional<double> degrees(const YamlValue& v, double limit, std::string_view what);
  // Records `value` (read at `v`) in `seen`; reports a second use at `v`, naming the first one:
  // "duplicate WHAT "value" (also KEY, line N)". What is remembered is `remembered`'s place
  // (by default `v`'s): a list item for a name that identifies it ("trunks[0]").
  using Seen = std::map<std::string, YamlPlace, std::less<>>;
  bool unique(Seen& seen, const std::string& value, const YamlValue& v, std::string_view what);
  bool unique(Seen& seen, const std::string& value, const YamlValue& v, std::string_view what,
              const YamlValue& remembered);

 private:
  struct Problem {
    int line;
    int column;
    std::string text;
  };
  std::string source_;
  std::vector<Problem> problems_;
};

}  // namespace sos::config
