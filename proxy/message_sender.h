#pragma once
// SIP MESSAGEs to responders (issue 6; a class of its own since issue 15). The notifier asks for
// one through the SIP thread; the answer, or the end of its time, is reported to `done` once.
// The request URI is numeric (the configuration refuses names), so nta sends straight to it and
// nothing here waits. Lives on the SIP thread; every method is called from there.

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "notify/channels.h"
#include "proxy/sofia.h"

namespace sos::proxy {

class MessageSender {
 public:
  // `host` is our address for the From. `finished` is called (from inside a transaction's
  // callback) when a MESSAGE has its final answer, so that the owner schedules reap() soon.
  MessageSender(nta_agent_t* agent, su_root_t* root, std::string host,
                std::function<void()> finished);
  // Destroys what is in flight; whoever still waits hears "shutdown".
  ~MessageSender();
  MessageSender(const MessageSender&) = delete;
  MessageSender& operator=(const MessageSender&) = delete;

  // Sends `request`; `done` hears Result<void>{} for a 2xx, else an Error: the status
  // ("sip.status", "486 Busy Here"), no answer in time ("timeout"), or a request that could
  // not be made ("sip.send", at once).
  void send(const notify::SipMessageRequest& request, notify::Done done);

  // Lets go of the MESSAGEs that have their final answer (never from inside their callback).
  void reap();

 private:
  struct Outgoing;
  static int onResponse(TxnMagic* magic, nta_outgoing_t* orq, const sip_t* sip);
  static void onDeadline(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg);

  nta_agent_t* agent_;
  su_root_t* root_;
  std::string host_;
  std::function<void()> finished_;
  std::list<std::unique_ptr<Outgoing>> messages_;
};

}  // namespace sos::proxy
