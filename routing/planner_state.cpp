#include "routing/planner_state.h"

#include <map>

namespace sos::routing {

void PlannerState::setLocations(std::shared_ptr<const LocationSnapshot> snapshot,
                                int64_t callbackWindowMs) {
  if (!snapshot) return;
  for (const auto& r : snapshot->data().reports) addReport(r);
  // Site default ELINs come with the data; the callback mappings carry over.
  std::map<std::string, std::string, std::less<>> defaults;
  for (const auto& row : snapshot->data().siteDefaults) {
    if (const auto* loc = snapshot->findLocation(row.locationKey); loc && !loc->elins.empty())
      defaults[row.site] = loc->elins.front();
  }
  auto next = std::make_unique<ElinAllocator>(std::move(defaults), callbackWindowMs);
  if (elins_) {
    next->callbacks().restore(elins_->callbacks().snapshot());
  } else if (!saved_.empty()) {
    next->callbacks().restore(std::move(saved_));
    saved_.clear();
  }
  next->setShare(share_);
  elins_ = std::move(next);
  locations_ = std::move(snapshot);
}

void PlannerState::setElinShare(ElinShare share) {
  share_ = share;
  if (elins_) elins_->setShare(share);
}

void PlannerState::mergeCallbacks(std::vector<model::CallbackTarget> mappings) {
  if (elins_) {
    elins_->callbacks().restore(std::move(mappings));
    return;
  }
  for (auto& m : mappings) saved_.push_back(std::move(m));
}

// The report a call of this user is located by: a fresh network-provided one beats the phone's
// own (routing::preferredReport).
void PlannerState::addReport(const model::DeviceReport& report) {
  if (report.extension.empty()) return;
  auto [it, fresh] = reports_.try_emplace(report.extension, report);
  if (!fresh && &preferredReport(it->second, report) == &report) it->second = report;
}

PlannerInputs PlannerState::inputs(const Router& router) const {
  PlannerInputs in;
  in.router = &router;
  in.locations = locations_.get();
  in.reports = &reports_;
  in.callbacks = elins_ ? &elins_->callbacks() : nullptr;
  return in;
}

}  // namespace sos::routing
