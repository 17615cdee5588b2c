#pragma once
// What the call planner reads that changes while calls come and go: the location snapshot in
// force, the device report each user's calls are located by, and the ELIN pools with their
// PSAP callback map, which outlive every snapshot swap. One per B2BUA, on the SIP thread.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/callback.h"
#include "model/location.h"
#include "routing/call_planner.h"
#include "routing/elin.h"
#include "routing/location_resolver.h"

namespace sos::routing {

class PlannerState {
 public:
  // A new snapshot: the reports it carries are taken where newer (routing::preferredReport),
  // the ELIN pools are rebuilt from its site defaults with `callbackWindowMs`, and the callback
  // mappings carry over (from the pools before, or from restoreCallbacks()). Null: ignored.
  void setLocations(std::shared_ptr<const LocationSnapshot> snapshot, int64_t callbackWindowMs);
  // The mappings saved before a restart, taken over by the first snapshot's pools.
  void restoreCallbacks(std::vector<model::CallbackTarget> saved) { saved_ = std::move(saved); }
  // ELIN mappings another node made (issue 22), merged into the pools' callback map: per ELIN
  // the latest assignment wins (CallbackMap::restore). Before the first snapshot they wait with
  // the ones restoreCallbacks() gave.
  void mergeCallbacks(std::vector<model::CallbackTarget> mappings);
  // This node's share of the ELIN pools (routing::ElinShare), kept for every later snapshot.
  void setElinShare(ElinShare share);
  // A device's network report: held when it is the one its user's calls should be located by.
  void addReport(const model::DeviceReport& report);

  // What CallPlanner::plan reads, with `router` for this call.
  PlannerInputs inputs(const Router& router) const;
  const std::shared_ptr<const LocationSnapshot>& locations() const { return locations_; }
  ElinAllocator* elins() { return elins_.get(); }  // null before the first snapshot

 private:
  std::shared_ptr<const LocationSnapshot> locations_;
  std::unordered_map<std::string, model::DeviceReport> reports_;  // by extension
  std::unique_ptr<ElinAllocator> elins_;
  std::vector<model::CallbackTarget> saved_;
  ElinShare share_;
};

}  // namespace sos::routing
