// libFuzzer target: the stateless relay's byte-level reading of SIP (proxy/sip_wire.h), which
// sees every UDP datagram on the SIP port while edge.ordinary_relay is stateless. Each input is
// read as a message; when it reads, its top Via and Route and its Request-URI are read too and it
// is written out as a forwarded request, a relayed response and an answer. Aborts when what is
// written loses the body or the start line, or reads back as something else.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/sip_wire.h"

using namespace sos::proxy::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static Message m;
  if (!parse(in, m, nullptr)) return 0;
  if (m.bodyBegin + m.bodyLength > in.size() || m.count > Message::kMaxHeaders) std::abort();
  const std::string_view body = in.substr(m.bodyBegin, m.bodyLength);
  Via via;
  Uri uri;
  if (const Header* v = m.first(Kind::Via)) (void)parseVia(splitFirst(v->value).first, via);
  if (const Header* r = m.first(Kind::Route)) (void)parseUri(splitFirst(r->value).first, uri);
  if (const Header* t = m.first(Kind::To)) (void)hasTag(t->value);
  if (!m.response) (void)parseUri(m.uri, uri);
  std::string out;
  if (m.response) {
    forwardResponse(m, out);
  } else {
    RequestEdits e;
    e.via = "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsl0000000000000000";
    e.topViaSuffix = ";received=192.0.2.1";
    e.rportValue = "5070";
    e.popRoute = true;
    e.maxForwards = "69";
    e.recordRoute = "<sip:127.0.0.1:5060;lr;sosrelay>";
    forwardRequest(m, e, out);
  }
  if (out.size() < body.size() || out.compare(out.size() - body.size(), body.size(), body) != 0)
    std::abort();  // the body goes on as it came
  // What is written reads back as the same kind of message (a request gains up to three header
  // lines: one with as many as the reader takes cannot be read back).
  static Message again;
  const bool room = m.response || m.count + 3 <= Message::kMaxHeaders;
  if (room && (!parse(out, again, nullptr) || again.response != m.response ||
               again.status != m.status || again.method != m.method || again.uri != m.uri))
    std::abort();
  if (!m.response) answer(m, 403, "Forbidden", ";received=192.0.2.1", "5070", out);
  return 0;
}
