#pragma once
// A company location a user submitted for an admin's approval (issue 17), as a plain value.

#include <cstdint>
#include <string>
#include <vector>

namespace sos::store {

struct LocationRequest {
  int64_t id = 0;         // given by the store
  std::string site;       // the submitting user's site: its admins decide
  std::string extension;  // who submitted it
  std::string name;
  // The location's columns as submitted (store::dataColumns(DataKind::Locations) names), a JSON
  // object of strings; the approving admin may change them.
  std::string fields;
  std::string state = "pending";  // pending, approved, rejected
  int64_t submittedAtMs = 0;
  int64_t decidedAtMs = 0;  // 0: not decided
  std::string decidedBy;    // the deciding token's name
  std::string reason;       // a rejection's
  std::string locationKey;  // an approval's: the location created
};

struct LocationRequestQuery {
  std::vector<std::string> sites;  // empty: every site
  std::string state;               // "": every state
  std::string extension;           // "": every user's
};

}  // namespace sos::store
