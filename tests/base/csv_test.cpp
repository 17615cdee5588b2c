// RFC 4180 CSV as the import files use it (base/csv.h).

#include "base/csv.h"

#include <gtest/gtest.h>

namespace sos {
namespace {

std::vector<std::vector<std::string>> fields(std::string_view text) {
  auto parsed = parseCsv(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  std::vector<std::vector<std::string>> out;
  for (const auto& r : parsed.value()) out.push_back(r.fields);
  return out;
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  EXPECT_EQ(fields("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",,x\n"),
            (std::vector<std::vector<std::string>>{{"a", "b, c", "say \"hi\""},
                                                   {"two\nlines", "", "x"}}));
}

TEST(Csv, RecordsKnowTheirLineBlankLinesAndAByteOrderMarkAreSkipped) {
  auto parsed = parseCsv("\xEF\xBB\xBFh1,h2\n\n\"multi\nline\",2\r\nlast,3");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed.value().size(), 3u);
  EXPECT_EQ(parsed.value()[0].fields[0], "h1");
  EXPECT_EQ(parsed.value()[1].line, 3);
  EXPECT_EQ(parsed.value()[2].line, 5);
  EXPECT_EQ(parsed.value()[2].fields, (std::vector<std::string>{"last", "3"}));
}

TEST(Csv, AnUnclosedQuoteOrTextAfterAQuoteIsPlaced) {
  auto open = parseCsv("a,b\nc,\"never closed\n");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().message, "2:2: a quoted field is never closed");
  auto after = parseCsv("a,\"b\"c\n");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().message.substr(0, 40), "1:2: text after the closing quote of a q");
}

TEST(Csv, WrittenFieldsReadBackTheSame) {
  const std::vector<std::string> values{"plain", "with, comma", "a \"quote\"", " padded ",
                                        "",      "two\nlines"};
  std::string line = csvLine(values);
  EXPECT_EQ(line, "plain,\"with, comma\",\"a \"\"quote\"\"\",\" padded \",,\"two\nlines\"\r\n");
  EXPECT_EQ(fields(line), (std::vector<std::vector<std::string>>{values}));
}

}  // namespace
}  // namespace sos
