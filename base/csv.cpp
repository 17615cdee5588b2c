// RFC 4180 CSV, read and written (csv.h).

#include "base/csv.h"

namespace sos {

Result<std::vector<CsvRecord>> parseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> records;
  size_t i = 0;
  int line = 1;
  auto problem = [&](int at, size_t field, const std::string& what) {
    return Error{"csv.invalid", std::to_string(at) + ":" + std::to_string(field + 1) + ": " + what};
  };
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string field;
    bool quotedField = false;
    bool endOfRecord = false;
    while (!endOfRecord) {
      if (i >= text.size()) break;
      char c = text[i];
      if (c == '"' && field.empty() && !quotedField) {
        // A quoted field: up to the quote that is not doubled.
        quotedField = true;
        const int opened = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return problem(opened, record.fields.size(), "a quoted field is never closed");
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return problem(line, record.fields.size(),
                         "text after the closing quote of a quoted field (a quote inside a "
                         "field is written twice: \"\")");
        }
        continue;
      }
      if (c == ',') {
        record.fields.push_back(std::move(field));
        field.clear();
        quotedField = false;
        ++i;
      } else if (c == '\r' || c == '\n') {
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        endOfRecord = true;
      } else {
        field += c;
        ++i;
      }
    }
    record.fields.push_back(std::move(field));
    bool blank = record.fields.size() == 1 && record.fields[0].empty() && !quotedField;
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

std::string csvField(std::string_view value) {
  bool quote = !value.empty() && (value.front() == ' ' || value.front() == '\t' ||
                                  value.back() == ' ' || value.back() == '\t');
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  }
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += csvField(fields[i]);
  }
  return out + "\r\n";
}

}  // namespace sos
