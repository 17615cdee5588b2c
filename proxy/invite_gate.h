#pragma once
// Past the SIP thread's capacity over UDP (issue 19). When the SIP port's UDP receive queue
// fills, the kernel drops whatever arrives next: the answers, ACKs and BYEs of calls already
// being set up as often as new INVITEs. Each such loss costs a retransmission timer later, calls
// under way last longer and hold their state, more retransmissions arrive, and the calls served
// per second fall far below what the thread can do.
//
// The gate watches the queue every 100 ms and, while it is long, has the kernel drop a share of
// the INVITE requests before they are queued: a socket filter on the UDP sockets (no copy, no
// parse, no wake-up of the SIP thread). A caller repeats an unanswered INVITE after 500 ms
// (RFC 3261 Timer A) and keeps repeating it for 32 s, so a dropped INVITE is a call put off, not
// refused; meanwhile the calls under way get the whole thread and finish. The share rises while
// the queue is long and falls while it is short (GateControl), never above 90 %. Nothing else is
// filtered: responses, ACK, BYE and CANCEL always reach the B2BUA. With a short queue no filter is
// attached at all. SIP thread only, except the counters.

#include <linux/filter.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "proxy/sofia.h"

namespace sos::proxy {

struct InviteGateCounters {
  std::atomic<uint64_t> closings{0};     // times the gate began dropping INVITEs
  std::atomic<uint64_t> kernelDrops{0};  // datagrams the kernel dropped on the SIP UDP sockets
  std::atomic<int64_t> dropPermille{0};  // the share of INVITEs dropped now, per mille
};

// The socket filter that drops `permille` of the datagrams that begin with "INVITE " (1000:
// every one; 0: none) and passes everything else. The filter sees the UDP header first.
std::vector<sock_filter> inviteGateFilter(uint32_t permille);

// The share's rule, apart from sockets and timers.
class GateControl {
 public:
  static constexpr uint32_t kStep = 20, kMax = 900;  // per mille
  // Over kHighBytes queued (or a quarter of the buffer, if less) the share rises by kStep per
  // check, by five steps over four times that; under a quarter of it the share falls by half a
  // step, under a sixteenth by two and a half. 1 MB is some 400 datagrams of a call's size on
  // loopback, about 20 ms of the SIP thread's work: far from the 500 ms after which callers repeat
  // a request, and enough that the thread does not run dry while INVITEs are held back.
  static constexpr uint64_t kHighBytes = uint64_t{1024} * 1024;
  // One check: bytes queued on the sockets and their buffer size; returns the new share.
  uint32_t next(uint64_t queued, uint64_t buffer);
  uint32_t share() const { return share_; }

 private:
  uint32_t share_ = 0;
};

class InviteGate {
 public:
  // Watches the UDP sockets of this process bound to `port` (Sofia's, opened by then).
  InviteGate(su_root_t* root, uint16_t port, InviteGateCounters& counters);
  ~InviteGate();
  InviteGate(const InviteGate&) = delete;
  InviteGate& operator=(const InviteGate&) = delete;

  // The UDP sockets of this process bound to `port`.
  static std::vector<int> udpSockets(uint16_t port);
  size_t sockets() const { return fds_.size(); }

 private:
  static void onTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);
  void check();
  bool apply(uint32_t permille);

  std::vector<int> fds_;
  InviteGateCounters& counters_;
  GateControl control_;
  su_timer_t* timer_ = nullptr;
  uint32_t applied_ = 0;           // the share the attached filter drops (0: none attached)
  uint64_t drops_ = 0;             // the kernel's drop count at the last check
  uint64_t dropsWhileClosed_ = 0;  // since the gate closed
};

}  // namespace sos::proxy
