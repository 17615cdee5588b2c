// Configuration variants (config_edit.h): the file's YAML tree, changed in place and written
// out again. yaml-cpp keeps each collection's block or flow style and each scalar's text, so
// what is not changed reads as it did in the file (comments aside).

#include "config/config_edit.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace sos::config {

namespace {

// One step of a path: a key, then any list selectors ("trunks[il-psap-a]").
struct Step {
  std::string key;
  std::vector<std::string> selectors;
};

Error editError(std::string_view path, std::string_view what) {
  std::string message(path);
  message += ": ";
  message += what;
  return Error{"config.edit", std::move(message)};
}

Result<std::vector<Step>> parsePath(std::string_view path) {
  std::vector<Step> steps(1);
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '.') {
      if (steps.back().key.empty()) return editError(path, "an empty key");
      steps.emplace_back();
    } else if (c == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos || close == i + 1) {
        return editError(path, "'[' needs an index or a name, then ']'");
      }
      if (steps.back().key.empty()) return editError(path, "'[' must follow a key");
      steps.back().selectors.emplace_back(path.substr(i + 1, close - i - 1));
      i = close;
    } else if (!steps.back().selectors.empty()) {
      return editError(path, "a key after ']' needs a '.' before it");
    } else {
      steps.back().key += c;
    }
  }
  if (steps.back().key.empty()) return editError(path, "an empty key");
  return steps;
}

// The item of `list` that `selector` picks: a position, or the item whose `name` is it.
Result<size_t> pick(const YAML::Node& list, const std::string& selector, std::string_view where) {
  bool digits =
      std::all_of(selector.begin(), selector.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    size_t index = std::stoul(selector);
    if (index < list.size()) return index;
    return editError(where, "the list has " + std::to_string(list.size()) + " items");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    if (item.IsMap() && item["name"] && item["name"].IsScalar() &&
        item["name"].Scalar() == selector) {
      return i;
    }
  }
  return editError(where, "no item is named " + selector);
}

// Sets the value at steps[s], from its selector k on, under `node`; `where` is the path so far.
// Nodes are handles: `reset` moves a handle, while assignment would overwrite the node it
// refers to.
Result<void> set(YAML::Node node, const std::vector<Step>& steps, size_t s, size_t k,
                 const YAML::Node& value, std::string where) {
  const Step& step = steps[s];
  const bool lastStep = s + 1 == steps.size();
  if (k == 0) {
    if (!where.empty()) where += '.';
    where += step.key;
    if (!node.IsMap() && !node.IsNull()) return editError(where, "the value above is no mapping");
    if (lastStep && step.selectors.empty()) {
      node[step.key] = YAML::Clone(value);
      return {};
    }
    YAML::Node child = node[step.key];
    if (!child.IsDefined() || child.IsNull()) {
      if (!step.selectors.empty()) return editError(where, "no such list");
      node[step.key] = YAML::Node(YAML::NodeType::Map);
      child.reset(node[step.key]);
    }
    node.reset(child);
  }
  if (k == step.selectors.size()) return set(node, steps, s + 1, 0, value, where);
  const std::string& selector = step.selectors[k];
  where += "[" + selector + "]";
  if (!node.IsSequence()) return editError(where, "the value above is no list");
  const bool lastSelector = lastStep && k + 1 == step.selectors.size();
  std::vector<size_t> items;
  if (selector == "*") {
    for (size_t i = 0; i < node.size(); ++i) items.push_back(i);
  } else {
    auto index = pick(node, selector, where);
    if (!index.ok()) return index.error();
    items.push_back(index.value());
  }
  for (size_t i : items) {
    if (lastSelector) {
      // A copy for each item: one node shared by several would be written as a YAML alias.
      node[i] = YAML::Clone(value);
      continue;
    }
    YAML::Node item = node[i];
    if (auto r = set(item, steps, s, k + 1, value, where); !r.ok()) return r;
  }
  return {};
}

// store.path and store.seed as loadConfig reads them: relative to the file's directory.
void anchorStorePaths(YAML::Node root, const std::string& sourcePath) {
  const YAML::Node& readOnly = root;
  if (!readOnly.IsMap() || !readOnly["store"] || !readOnly["store"].IsMap()) return;
  YAML::Node store = root["store"];
  std::filesystem::path dir =
      std::filesystem::absolute(std::filesystem::path(sourcePath)).parent_path();
  for (const char* key : {"path", "seed"}) {
    const YAML::Node& storeReadOnly = store;
    if (!storeReadOnly[key] || !storeReadOnly[key].IsScalar()) continue;
    std::filesystem::path p(storeReadOnly[key].Scalar());
    if (p.empty() || p.is_absolute()) continue;
    store[key] = (dir / p).lexically_normal().string();
  }
}

}  // namespace

Result<ConfigChange> parseConfigChange(std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    std::string message = "'";
    message += assignment;
    message += "' is not PATH=VALUE";
    return Error{"config.edit", std::move(message)};
  }
  return ConfigChange{std::string(assignment.substr(0, eq)),
                      std::string(assignment.substr(eq + 1))};
}

Result<std::string> editConfig(const std::string& yamlText, const std::string& sourcePath,
                               const std::vector<ConfigChange>& changes) {
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::Exception& e) {
    return Error{"config.edit", sourcePath + ": not YAML: " + e.what()};
  }
  if (!root.IsMap() && !root.IsNull()) {
    return Error{"config.edit", sourcePath + ": expected a mapping at the top level"};
  }
  for (const ConfigChange& change : changes) {
    YAML::Node value;
    try {
      value = YAML::Load(change.value);
    } catch (const YAML::Exception& e) {
      return editError(change.path, std::string("the value is not YAML: ") + e.what());
    }
    if (change.path.empty()) {
      if (!value.IsMap()) return editError("(top level)", "the value must be a mapping");
      for (const auto& entry : value) root[entry.first.Scalar()] = entry.second;
      continue;
    }
    auto steps = parsePath(change.path);
    if (!steps.ok()) return steps.error();
    if (auto r = set(root, steps.value(), 0, 0, value, ""); !r.ok()) return r.error();
  }
  anchorStorePaths(root, sourcePath);

  YAML::Emitter out;
  out.SetIndent(2);
  out << root;
  if (!out.good()) return Error{"config.edit", "cannot write YAML: " + out.GetLastError()};
  std::string text = "# " + sourcePath + ", with " + std::to_string(changes.size()) + " change" +
                     (changes.size() == 1 ? "" : "s") + " (comments are in that file).\n";
  text += out.c_str();
  text += '\n';
  return text;
}

}  // namespace sos::config
