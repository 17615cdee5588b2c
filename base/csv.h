#pragma once
// CSV as RFC 4180 writes it: fields separated by commas, records by CRLF or LF, a field with a
// comma, quote or line break enclosed in double quotes (a quote inside doubled). Used for the
// location, user and desk-phone files an operator imports and exports (issue 16).

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sos {

struct CsvRecord {
  int line = 0;  // where the record starts in the text, from 1
  std::vector<std::string> fields;
};

// Every record of `text`, blank lines skipped; a UTF-8 byte order mark at the start is dropped
// (spreadsheets write one). Error "csv.invalid" with "LINE:COLUMN: what" (COLUMN counts fields
// from 1) for a quote that is never closed or text after a closing quote.
Result<std::vector<CsvRecord>> parseCsv(std::string_view text);

// `value` as one CSV field: quoted when it holds a comma, a quote, a line break or white space
// at either end, else as it is.
std::string csvField(std::string_view value);
// One record: the fields joined by commas, ended by CRLF (RFC 4180).
std::string csvLine(const std::vector<std::string>& fields);

}  // namespace sos
