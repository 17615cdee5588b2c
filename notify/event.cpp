#include "notify/event.h"

namespace sos::notify {

std::string_view toString(EventKind k) {
  switch (k) {
    case EventKind::Started:
      return "started";
    case EventKind::Answered:
      return "answered";
    case EventKind::Ended:
      return "ended";
    case EventKind::FailedOver:
      return "failed_over";
    case EventKind::Callback:
      return "callback";
  }
  return "unknown";  // not reached: every kind is named above (-Wswitch keeps it so)
}

}  // namespace sos::notify
