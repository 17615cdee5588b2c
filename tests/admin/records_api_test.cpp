// Records over the admin API: what a device token may write on its user's personal addresses
// (issue 17). The store is a fake: `load` answers the records held, `apply` keeps what it is
// asked to write.
#include "admin/records_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sos::admin {
namespace {

using nlohmann::json;
using store::DataKind;

constexpr int64_t kAtMs = 1'700'000'000'000;
constexpr int64_t kHoldMs = int64_t{8} * 3600 * 1000;  // location.temporary_hold_s, the demo's

// A personal location of 1002's in the store's column order; `hold` its hold_until_ms.
store::DataRecord personal(const std::string& key, const std::string& hold) {
  const auto& columns = store::dataColumns(DataKind::PersonalLocations);
  store::DataRecord r{key, "HQ", std::vector<std::string>(columns.size())};
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == "key") r.values[i] = key;
    if (columns[i] == "extension") r.values[i] = "1002";
    if (columns[i] == "name") r.values[i] = "Inn";
    if (columns[i] == "confirmed") r.values[i] = "yes";
    if (columns[i] == "country") r.values[i] = "US";
    if (columns[i] == "hold_until_ms") r.values[i] = hold;
  }
  return r;
}

struct RecordsFixture : ::testing::Test {
  std::vector<store::DataRecord> held{personal("1002-hold-1", std::to_string(kAtMs + 1000)),
                                      personal("1002-home", "")};
  std::vector<store::ImportRequest> applied;

  RecordsApi api{
      RecordsApi::Deps{[this](DataKind kind) -> Result<std::vector<store::DataRecord>> {
                         if (kind == DataKind::PersonalLocations) return held;
                         return std::vector<store::DataRecord>{};
                       },
                       [this](const store::ImportRequest& r) -> Result<store::ImportResult> {
                         applied.push_back(r);
                         return store::ImportResult{};
                       },
                       nullptr, [] { return kAtMs; }, nullptr, [] { return kHoldMs; }}};

  HttpResponse put(const std::string& key, const std::string& body, const Principal& who) {
    HttpRequest r;
    r.method = "PUT";
    r.target = "/api/v1/personal-locations/" + key;
    r.body = body;
    r.ifMatch = "*";
    return api.handle(r, r.target, who);
  }

  static Principal phone() { return Principal{"phone-1002", Role::Device, {}, "1002"}; }
  static Principal admin() { return Principal{"ops", Role::SuperAdmin, {}, ""}; }
};

// The rule: the stored value back, empty (kept), or an end at most location.temporary_hold_s
// from now; nothing later, nothing that is not Unix milliseconds.
TEST(HoldRefusal, AUserHoldsAnAddressForThisEmergencyOnlyAndNoLonger) {
  const std::string stored = std::to_string(kAtMs + 3 * kHoldMs);  // an admin's
  EXPECT_EQ(holdRefusal(stored, stored, kAtMs, kHoldMs), "");
  EXPECT_EQ(holdRefusal("", stored, kAtMs, kHoldMs), "");
  EXPECT_EQ(holdRefusal(std::to_string(kAtMs + kHoldMs), "", kAtMs, kHoldMs), "");
  EXPECT_EQ(holdRefusal(std::to_string(kAtMs + 60000), stored, kAtMs, kHoldMs), "");
  EXPECT_EQ(holdRefusal(std::to_string(kAtMs + kHoldMs + 1), "", kAtMs, kHoldMs),
            "hold_until_ms: " + std::to_string(kAtMs + kHoldMs + 1) +
                " is too late: a device token holds an address for this emergency only, for "
                "location.temporary_hold_s (28800 s) at most: until " +
                std::to_string(kAtMs + kHoldMs) +
                " (Unix ms) at the latest; a later end is an admin's to set");
  EXPECT_EQ(holdRefusal(" 1", "", kAtMs, kHoldMs).rfind("hold_until_ms: \" 1\" is not a time", 0),
            0u);
  EXPECT_NE(holdRefusal("1.7e12", "", kAtMs, kHoldMs), "");
  EXPECT_NE(holdRefusal("99999999999999999999999", "", kAtMs, kHoldMs), "");
}

TEST_F(RecordsFixture, ADeviceTokenCannotHoldAnAddressLongerThanThisEmergencyOnly) {
  const std::string later = std::to_string(kAtMs + 365 * 24 * 3600 * int64_t{1000});
  for (const std::string key : {"1002-hold-1", "1002-home", "1002-new"}) {
    auto refused = put(key, R"({"hold_until_ms": ")" + later + R"(", "name": "Inn"})", phone());
    EXPECT_EQ(refused.status, 403) << key << ": " << refused.body;
    EXPECT_NE(json::parse(refused.body)["error"].get<std::string>().find(
                  "a device token holds an address for this emergency only"),
              std::string::npos)
        << refused.body;
    // As a JSON number too.
    EXPECT_EQ(put(key, R"({"hold_until_ms": )" + later + "}", phone()).status, 403) << key;
  }
  EXPECT_TRUE(applied.empty());

  // Within the hold, the stored value back, or kept: written.
  EXPECT_EQ(put("1002-hold-1", R"({"hold_until_ms": ")" + std::to_string(kAtMs + kHoldMs) + "\"}",
                phone())
                .status,
            200);
  EXPECT_EQ(
      put("1002-hold-1",
          R"({"name": "Inn 2", "hold_until_ms": ")" + std::to_string(kAtMs + 1000) + "\"}", phone())
          .status,
      200);
  EXPECT_EQ(put("1002-hold-1", R"({"hold_until_ms": ""})", phone()).status, 200);
  EXPECT_EQ(applied.size(), 3u);

  // An admin may set any end.
  EXPECT_EQ(put("1002-hold-1", R"({"hold_until_ms": ")" + later + "\"}", admin()).status, 200);
  EXPECT_EQ(applied.size(), 4u);
}

}  // namespace
}  // namespace sos::admin
