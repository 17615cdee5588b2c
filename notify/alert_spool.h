#pragma once
// The responder alerts the outbox could not take, on disk, so that a node that stops or dies
// before the database returns loses none of them. While the store refuses writes, a call's
// jobs and its alert are tried from memory (Notifier::Impl::track) and written to the outbox
// once it takes writes again (replayUnsaved); this file holds the same at every change: the
// jobs still being tried (with their attempts so far), those finished, and the calls' alerts
// (tier, escalation time, acknowledgement). It is written anew each time (a temporary file,
// fdatasync, renamed over it) and removed when nothing is left; the next start reads it back and
// goes on where the previous run was. One JSON object a line. I/O thread only.

#include <string>
#include <utility>
#include <vector>

#include "store/notification_job.h"

namespace sos::notify {

class AlertSpool {
 public:
  struct Kept {
    std::vector<store::NotificationJob> jobs;  // "pending" ones still to deliver, then the others
    std::vector<store::CallAlert> alerts;
    size_t unreadable = 0;  // lines skipped
  };

  // `path`: the file; empty: no spool (every call does nothing).
  explicit AlertSpool(std::string path = "") : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // What a previous run left. Empty when there is no file.
  Kept load() const;
  // The file written anew with `jobs` and `alerts`; removed when both are empty; left as it is
  // when this spool wrote the same last. False when it could not be written (logged, once until
  // it can again).
  bool write(const std::vector<store::NotificationJob>& jobs,
             const std::vector<store::CallAlert>& alerts);

 private:
  std::string path_;
  bool warned_ = false;
  std::string written_;  // what this spool last wrote ("": nothing, or the file removed)
};

}  // namespace sos::notify
