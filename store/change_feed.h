#pragma once
// PostgreSQL's LISTEN/NOTIFY for several sosproxy nodes on one database (issue 22): a connection
// of its own that listens on the store's channels, so that a node learns within milliseconds
// that another one changed the routing data, saved a device report or an ELIN mapping. The writers
// notify in their own transaction (delivered at its commit): bumpDataVersion on kDataChannel,
// Store::saveReport on kReportsChannel with the report's id, Store::saveElinMappings on
// kElinChannel. Whoever owns the feed waits for
// its socket and calls take(); it is used from one thread. SQLite has no such thing: a node
// polls the data version (a second at most).

#include <memory>
#include <string>
#include <vector>

struct pg_conn;

namespace sos::store {

inline constexpr const char* kDataChannel = "sosproxy_data";
inline constexpr const char* kReportsChannel = "sosproxy_reports";
inline constexpr const char* kElinChannel = "sosproxy_elins";

class ChangeFeed {
 public:
  // Connects to `conninfo` (as Store::open's postgresql:// path) and listens on the channels.
  // Null with `error` set when it cannot.
  static std::unique_ptr<ChangeFeed> open(const std::string& conninfo, std::string* error);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // The connection's socket, to wait on for reading.
  int socket() const;

  struct Change {
    std::string channel;
    std::string payload;
  };
  // Reads what the socket holds, never waits, and appends each notification that arrived.
  // False when the connection is lost (`error` says why): open a new feed.
  bool take(std::vector<Change>& out, std::string* error);

 private:
  explicit ChangeFeed(pg_conn* pg) : pg_(pg) {}
  pg_conn* pg_;
};

}  // namespace sos::store
