#pragma once
// The writes the store could not take, on disk (store.spool), so that a node that dies before
// the database returns loses none of them: each device report, call record and ELIN mapping set
// kept in memory (LocationService::retryUnsaved) is appended to the file as one JSON line as it
// is kept, the file is written anew with what is left whenever kept writes are written or
// dropped (and emptied when none is left), and at the start a file a previous run left is read
// back into the kept writes. On the seed data in memory (the database could not be opened at
// start) every write of the run is appended, and a file a previous run left is read into the
// store in memory and kept, for a start that opens the database. A line cut short by a crash in
// the middle of writing it is skipped with a warning. The file is written without fsync: a process
// that dies keeps what it wrote; LocationService syncs it once a second while it holds anything.
// I/O thread only.

#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "model/callback.h"
#include "model/location.h"
#include "store/call_record.h"

namespace sos::proxy {

class StoreSpool {
 public:
  struct Kept {
    std::deque<model::DeviceReport> reports;
    std::deque<store::CallRecord> records;
    std::optional<std::vector<model::CallbackTarget>> elins;  // the newest set
    size_t unreadable = 0;                                    // lines skipped
  };

  // `path`: the file; empty: no spool (every call does nothing).
  explicit StoreSpool(std::string path);
  ~StoreSpool();
  StoreSpool(const StoreSpool&) = delete;
  StoreSpool& operator=(const StoreSpool&) = delete;

  const std::string& path() const { return path_; }
  // What a previous run left, in the order it was kept. Empty when there is no file.
  Kept load() const;
  void append(const model::DeviceReport& report);
  void append(const store::CallRecord& record);
  // A batch of records in one write.
  void append(const std::vector<store::CallRecord>& records);
  void append(const std::vector<model::CallbackTarget>& elins);
  // The file written anew (a temporary file renamed over it) with `kept`; removed when it holds
  // nothing.
  void rewrite(const std::deque<model::DeviceReport>& reports,
               const std::deque<store::CallRecord>& records,
               const std::optional<std::vector<model::CallbackTarget>>& elins);
  // What was appended reaches the disk (fdatasync), when anything was since the last time.
  void sync();

 private:
  void appendLine(const std::string& line);

  std::string path_;
  std::FILE* file_ = nullptr;  // open for appending while it holds anything
  bool unsynced_ = false;
  bool warned_ = false;  // the file could not be written: said once
};

}  // namespace sos::proxy
