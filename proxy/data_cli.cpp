// `sosproxy import` and `sosproxy export` (data_cli.h).

#include "proxy/data_cli.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>

#include "base/text.h"
#include "proxy/cli_store.h"
#include "store/store.h"

namespace sos::proxy {

const char* const kDataUsage =
    R"(  sosproxy import --config FILE [--kind KIND] [--mode merge|replace] [--dry-run] CSV
                                     users, desk phones or company locations from a CSV
                                     file (KIND users, devices or locations; by default told
                                     by the header's first column). merge (the default) adds
                                     and updates by key; replace also deletes what the file
                                     lacks. Prints the difference; --dry-run writes nothing.
                                     One bad row: nothing is written, every problem is
                                     listed as CSV:LINE:COLUMN: FIELD: message
  sosproxy export --config FILE KIND [--site SITE]... [--output CSV]
                                     KIND as CSV (standard output by default); importing it
                                     back changes nothing
)";

namespace {

struct DataArgs {
  std::string configPath, kind, mode = "merge", output;
  bool dryRun = false;
  std::vector<std::string> sites, positional;
};

std::optional<int> parseDataArgs(const std::string& command, const std::vector<std::string>& args,
                                 DataArgs& d) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << "Usage:\n" << kDataUsage;
      return 0;
    }
    std::string* target = nullptr;
    if (a == "-c" || a == "--config") {
      target = &d.configPath;
    } else if (a == "--kind" && command == "import") {
      target = &d.kind;
    } else if (a == "--mode" && command == "import") {
      target = &d.mode;
    } else if (a == "--dry-run" && command == "import") {
      d.dryRun = true;
      continue;
    } else if ((a == "-o" || a == "--output") && command == "export") {
      target = &d.output;
    } else if (a == "--site" && command == "export") {
      if (i + 1 >= args.size()) return cliUsageError(command, "--site needs a SITE");
      d.sites.push_back(args[++i]);
      continue;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return cliUsageError(command, "unknown option '" + a + "'");
    } else {
      d.positional.push_back(a);
      continue;
    }
    if (i + 1 >= args.size()) return cliUsageError(command, a + " needs a value");
    *target = args[++i];
  }
  if (d.configPath.empty()) return cliUsageError(command, "no configuration given (--config FILE)");
  if (d.positional.size() != 1) {
    return cliUsageError(command, command == "import"
                                      ? "give one CSV file ('-': standard input)"
                                      : "give one KIND: users, devices or locations");
  }
  if (d.mode != "merge" && d.mode != "replace") {
    return cliUsageError(command, "--mode is merge or replace, not '" + d.mode + "'");
  }
  const std::string& kind = command == "import" ? d.kind : d.positional[0];
  if (!kind.empty() && !store::dataKindNamed(kind)) {
    return cliUsageError(command, "'" + kind + "' is not users, devices or locations");
  }
  return std::nullopt;
}

}  // namespace

int runImportCommand(const std::vector<std::string>& args) {
  DataArgs d;
  if (auto done = parseDataArgs("import", args, d)) return *done;
  const std::string& file = d.positional[0];
  Result<std::string> text = std::string();
  if (file == "-") {
    text = std::string(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    text = readWholeFile(file);
  }
  if (!text.ok()) {
    std::cerr << "sosproxy import: " << file << ": cannot read: " << text.error().message << "\n";
    return 2;
  }
  int status = 0;
  auto db = openConfiguredStore(d.configPath, "import", status);
  if (!db) return status;
  const auto started = std::chrono::steady_clock::now();
  auto input = store::readCsvInput(text.value(), file,
                                   d.kind.empty() ? std::nullopt : store::dataKindNamed(d.kind));
  if (!input.ok()) {
    std::cerr << input.error().message << "\nnothing written\n";
    return 3;
  }
  store::ImportRequest request;
  request.kind = input.value().kind;
  request.records = std::move(input.value().records);
  request.replace = d.mode == "replace";
  request.dryRun = d.dryRun;
  request.source = file;
  request.actor = cliActor();
  request.role = "cli";
  request.atMs = cliNowMs();
  auto result = db->applyRecords(request);
  if (!result.ok()) {
    std::cerr << result.error().message << "\nnothing written\n";
    return result.error().code == "store.write" ? 1 : 3;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::cout << store::diffText(result.value());
  if (d.dryRun) {
    std::cout << "dry run: nothing written\n";
  } else {
    std::cout << (result.value().written ? "written" : "nothing to write") << " in " << ms
              << " ms\n";
  }
  return 0;
}

int runExportCommand(const std::vector<std::string>& args) {
  DataArgs d;
  if (auto done = parseDataArgs("export", args, d)) return *done;
  int status = 0;
  auto db = openConfiguredStore(d.configPath, "export", status);
  if (!db) return status;
  auto csv = db->exportCsv(*store::dataKindNamed(d.positional[0]), d.sites);
  if (!csv.ok()) {
    std::cerr << "sosproxy export: " << csv.error().message << "\n";
    return 1;
  }
  if (d.output.empty() || d.output == "-") {
    std::cout << csv.value();
    return std::cout.flush() ? 0 : 1;
  }
  std::ofstream out(d.output, std::ios::binary | std::ios::trunc);
  out << csv.value();
  if (!out.flush()) {
    std::cerr << "sosproxy export: " << d.output << ": cannot write\n";
    return 1;
  }
  return 0;
}

}  // namespace sos::proxy
