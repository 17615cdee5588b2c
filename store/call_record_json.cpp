#include "store/call_record_json.h"

namespace sos::store {

nlohmann::json toJson(const CallRecord& r) {
  return nlohmann::json{{"id", r.id},
                        {"call_id", r.callId},
                        {"started_at_ms", r.startedAtMs},
                        {"ended_at_ms", r.endedAtMs},
                        {"caller", r.caller},
                        {"dialed", r.dialed},
                        {"emergency", r.emergency},
                        {"test", r.test},
                        {"site", r.site},
                        {"location", r.location},
                        {"location_by", r.locationBy},
                        {"elin", r.elin},
                        {"pidf", r.pidf},
                        {"trunk", r.trunk},
                        {"route", r.route},
                        {"attempts", r.attempts},
                        {"outcome", r.outcome},
                        {"status", r.status},
                        {"duration_ms", r.durationMs},
                        {"reason", r.reason}};
}

CallRecord callRecordFromJson(const nlohmann::json& j) {
  CallRecord c;
  c.id = j.value("id", int64_t{0});
  j.at("call_id").get_to(c.callId);
  j.at("started_at_ms").get_to(c.startedAtMs);
  j.at("ended_at_ms").get_to(c.endedAtMs);
  j.at("caller").get_to(c.caller);
  j.at("dialed").get_to(c.dialed);
  j.at("emergency").get_to(c.emergency);
  j.at("test").get_to(c.test);
  j.at("site").get_to(c.site);
  j.at("location").get_to(c.location);
  j.at("location_by").get_to(c.locationBy);
  j.at("elin").get_to(c.elin);
  j.at("pidf").get_to(c.pidf);
  j.at("trunk").get_to(c.trunk);
  j.at("route").get_to(c.route);
  j.at("attempts").get_to(c.attempts);
  j.at("outcome").get_to(c.outcome);
  j.at("status").get_to(c.status);
  j.at("duration_ms").get_to(c.durationMs);
  j.at("reason").get_to(c.reason);
  return c;
}

}  // namespace sos::store
