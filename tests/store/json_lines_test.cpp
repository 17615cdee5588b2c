// store/json_lines.h: the spool files' format, and writing a file anew.

#include "store/json_lines.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sos::store {
namespace {

class JsonLinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "json_lines.XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir_;
};

TEST_F(JsonLinesTest, ALineIsOneObjectOfOneKindAndInvalidUtf8IsReplaced) {
  EXPECT_EQ(jsonLine("job", nlohmann::json{{"a", 1}}), "{\"job\":{\"a\":1}}\n");
  EXPECT_EQ(jsonLine("x", std::string("caf\xe9")), "{\"x\":\"caf\xef\xbf\xbd\"}\n");
}

TEST_F(JsonLinesTest, WhatCannotBeReadIsCountedAndTheRestHandedOver) {
  const auto path = (dir_ / "spool").string();
  ASSERT_EQ(
      replaceFile(path, jsonLine("job", 1) + "{\"a\":1,\"b\":2}\n" + "[1]\n" +
                            jsonLine("alert", "x") + jsonLine("bad", 0) + "{\"job\":{\"cut sh"),
      "");
  std::vector<std::string> seen;
  const size_t unreadable = readJsonLines(path, [&](const std::string& kind, const auto& value) {
    if (kind == "bad") throw std::invalid_argument("not ours");
    seen.push_back(kind + "=" + value.dump());
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"job=1", "alert=\"x\""}));
  EXPECT_EQ(unreadable, 4u);  // two keys, not an object, refused, cut short
  EXPECT_EQ(readJsonLines((dir_ / "none").string(), [](const auto&, const auto&) {}), 0u);
}

TEST_F(JsonLinesTest, AFileIsReplacedWholeOrNotAtAll) {
  const auto path = (dir_ / "spool").string();
  ASSERT_EQ(replaceFile(path, "first\n"), "");
  ASSERT_EQ(replaceFile(path, "second\n"), "");
  EXPECT_EQ(read(path), "second\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
  EXPECT_NE(replaceFile((dir_ / "no-such-dir" / "spool").string(), "x"), "");
}

}  // namespace
}  // namespace sos::store
