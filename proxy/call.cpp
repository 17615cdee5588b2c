// What a call holds (proxy/call.h): letting go of its set-up once it is confirmed.

#include "proxy/call.h"

namespace sos::proxy {

void releaseSetup(Call& call) {
  if (call.invite && call.invite->irq && call.invite->finished) {
    nta_incoming_destroy(call.invite->irq);
    call.invite->irq = nullptr;
  }
  if (Branch* br = call.current; br && br->final && br->bye == nullptr) {
    for (nta_outgoing_t* old : br->oldOrqs) nta_outgoing_destroy(old);
    br->oldOrqs.clear();
    if (br->orq) nta_outgoing_destroy(br->orq);
    br->orq = nullptr;
  }
  if (call.plan && call.plan->request) {
    msg_destroy(call.plan->request);
    call.plan->request = nullptr;
  }
}

}  // namespace sos::proxy
