#include "store/change_feed.h"

#include <libpq-fe.h>

#include "store/db.h"

namespace sos::store {

std::unique_ptr<ChangeFeed> ChangeFeed::open(const std::string& conninfo, std::string* error) {
  std::string failed;
  PGconn* pg = pgConnect(conninfo, "sosproxy-changes", &failed);
  std::unique_ptr<ChangeFeed> feed(new ChangeFeed(pg));
  if (!failed.empty()) {
    *error = failed;
    return nullptr;
  }
  const std::string listen = std::string("LISTEN ") + kDataChannel + "; LISTEN " + kReportsChannel +
                             "; LISTEN " + kElinChannel;
  PGresult* r = PQexec(pg, listen.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok || PQsetnonblocking(pg, 1) != 0) {
    *error = pgMessage(PQerrorMessage(pg));
    return nullptr;
  }
  return feed;
}

ChangeFeed::~ChangeFeed() { PQfinish(pg_); }

int ChangeFeed::socket() const { return PQsocket(pg_); }

bool ChangeFeed::take(std::vector<Change>& out, std::string* error) {
  if (PQconsumeInput(pg_) == 0 || PQstatus(pg_) != CONNECTION_OK) {
    *error = pgMessage(PQerrorMessage(pg_));
    return false;
  }
  while (PGnotify* n = PQnotifies(pg_)) {
    out.push_back({n->relname != nullptr ? n->relname : "", n->extra != nullptr ? n->extra : ""});
    PQfreemem(n);
  }
  return true;
}

}  // namespace sos::store
