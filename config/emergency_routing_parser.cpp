// The emergency_routing section (issue 5): civic rules, service boundaries, the ERC, the test
// destination and the last resort. Part of the configuration parser (config_parser.h).

#include <algorithm>
#include <map>

#include "base/text.h"
#include "config/config_parser.h"

namespace sos::config::detail {

void Parser::readEmergencyRouting(const YamlValue& v) {
  auto f = fields(v, {"erc", "test_destination", "civic_rules", "boundaries", "last_resort"});
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
  if (auto l = get(*f, v, "last_resort")) {
    routing.lastResort = trunkReference(*l);
  }
  if (auto r = get(*f, v, "civic_rules")) {
    std::vector<YamlValue> matches;  // of the rules read so far, parallel to civicRules
    for (const auto& item : list(*r, true)) {
      readCivicRule(item, matches);
    }
  }
  if (auto b = get(*f, v, "boundaries")) {
    Seen seen;
    for (const auto& item : list(*b, true)) {
      readBoundary(item, seen);
    }
  }
}

void Parser::readCivicRule(const YamlValue& item, std::vector<YamlValue>& matches) {
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
void Parser::readMatch(const YamlValue& v, CivicRule& rule) {
  std::vector<std::string_view> names;
  names.reserve(kMatchFields.size());
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
      YamlValue value{entry.second, key,
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

void Parser::readBoundary(const YamlValue& item, Seen& seen) {
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
std::vector<std::pair<double, double>> Parser::polygon(const YamlValue& v) {
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

}  // namespace sos::config::detail
