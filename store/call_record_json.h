#pragma once
// A call record as a JSON object, one member a field, named as the admin API shows them
// (/api/v1/calls) and as the spool file of unwritten writes keeps them (proxy/store_spool.h).

#include <nlohmann/json.hpp>

#include "store/call_record.h"

namespace sos::store {

nlohmann::json toJson(const CallRecord& r);
// The record `j` holds ("id" may be missing: 0). Throws nlohmann::json::exception when another
// member is missing or of another type.
CallRecord callRecordFromJson(const nlohmann::json& j);

}  // namespace sos::store
