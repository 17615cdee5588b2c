// What reaches the far end, byte for byte (issue 13): a caller's own PIDF-LO, a multipart body of
// any shape, the answers and in-dialog requests that carry SDP. Each test compares what one SIPp
// sent with what the other SIPp received (both message traces), not only that a call completed.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "b2bua_fixture.h"

namespace sos::itest {
namespace {

constexpr const char* kSdp =
    "v=0\r\n"
    "o=phone1001 2890844526 2890844526 IN IP4 10.1.2.45\r\n"
    "s=-\r\n"
    "c=IN IP4 10.1.2.45\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n";

// A valid civic PIDF-LO for a place that is not in the company map (so that what the PSAP gets
// can only be the phone's): 301 Capitol Ave, Springfield IL, 5th floor.
constexpr const char* kDevicePidf =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
    "    xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"\r\n"
    "    xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\"\r\n"
    "    xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\"\r\n"
    "    entity=\"pres:1001@phone.example\">\r\n"
    "  <dm:device id=\"phone1001\">\r\n"
    "    <gp:geopriv>\r\n"
    "      <gp:location-info>\r\n"
    "        <ca:civicAddress xml:lang=\"en\">\r\n"
    "          <ca:country>US</ca:country><ca:A1>IL</ca:A1><ca:A3>Springfield</ca:A3>\r\n"
    "          <ca:RD>Capitol</ca:RD><ca:STS>Ave</ca:STS><ca:HNO>301</ca:HNO>\r\n"
    "          <ca:FLR>5</ca:FLR><ca:PC>62701</ca:PC>\r\n"
    "        </ca:civicAddress>\r\n"
    "      </gp:location-info>\r\n"
    "      <gp:usage-rules/>\r\n"
    "      <gp:method>Manual</gp:method>\r\n"
    "    </gp:geopriv>\r\n"
    "    <dm:deviceID>mac:0004f2001001</dm:deviceID>\r\n"
    "    <dm:timestamp>2026-12-01T10:00:00Z</dm:timestamp>\r\n"
    "  </dm:device>\r\n"
    "</presence>\r\n";

// The same document, cut short: not well-formed.
std::string garbledPidf() {
  std::string s = kDevicePidf;
  return s.substr(0, s.find("</gp:location-info>"));
}

// The phone's body (RFC 6442 section 3): multipart/mixed with the SDP and the PIDF-LO part whose
// Content-ID the Geolocation header names.
std::string deviceBody(const std::string& pidf, const std::string& boundary = "dev-bnd-42") {
  return "--" + boundary + "\r\nContent-Type: application/sdp\r\n\r\n" + kSdp + "\r\n--" +
         boundary +
         "\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc1@phone.example>\r\n"
         "Content-Disposition: by-reference;handling=optional\r\n\r\n" +
         pidf + "\r\n--" + boundary + "--\r\n";
}

// All messages in a trace whose start line begins with `prefix` and whose CSeq method is
// `method` ("" for any), in order.
std::vector<std::string> messagesOf(const Sipp& sipp, bool received, const std::string& prefix,
                                    const std::string& method = "") {
  std::vector<std::string> out;
  for (const auto& m : traceMessages(sipp.messages(), received)) {
    if (m.rfind(prefix, 0) != 0) continue;
    const std::string cseq = headerValue(m, "CSeq");
    if (!method.empty() && cseq.substr(cseq.find(' ') + 1) != method) continue;
    out.push_back(m);
  }
  return out;
}

// A header value without its optional white space ("a; b = c" -> "a;b=c").
std::string compact(const std::string& v) {
  std::string out;
  for (char c : v)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

class BodyRelay : public B2buaTest {
 protected:
  std::filesystem::path writeBody(const std::string& name, const std::string& body) {
    auto path = dir_.path() / (name + ".body");
    writeFile(path, body);
    return path;
  }

  // A call from 1001 (Contact 10.1.2.45, HQ Floor 2) to `service` with `body`.
  std::unique_ptr<Sipp> call(const std::string& service, const std::string& name,
                             const std::string& body, const std::string& contentType,
                             const std::string& geolocation) {
    SippOptions o;
    o.scenario = "uac-call-body-from-file-expect-200.xml";
    o.name = name;
    o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
    o.service = service;
    o.sets = {
        {"bodyfile", writeBody(name, body).string()},
        {"ctype_line", "Content-Type: " + contentType},
        {"geo_line", geolocation.empty() ? "X-Geolocation: none" : "Geolocation: " + geolocation},
        {"case", name}};
    auto sipp = std::make_unique<Sipp>(o, dir_.path());
    EXPECT_TRUE(sipp->start()) << "SIPp UAC " << name << " did not start";
    return sipp;
  }

  // Both ends finish cleanly.
  void finish(Sipp& caller, Sipp& far) {
    const int callerRc = caller.wait();
    const int farRc = far.wait();
    EXPECT_EQ(callerRc, 0) << report({&caller, &far});
    EXPECT_EQ(farRc, 0) << report({&caller, &far});
  }

  // What `from` sent as the `nth` message starting with `prefix` (CSeq method `method`) reached
  // `to` with the same body, Content-Type and a Content-Length equal to the body's size.
  void expectRelayed(const Sipp& from, const Sipp& to, const std::string& prefix,
                     const std::string& method, size_t nth = 0) {
    const auto sent = messagesOf(from, false, prefix, method);
    const auto got = messagesOf(to, true, prefix, method);
    ASSERT_GT(sent.size(), nth) << prefix << method << " not sent\n" << report({&from, &to});
    ASSERT_GT(got.size(), nth) << prefix << method << " not received\n" << report({&from, &to});
    const std::string body = bodyOf(sent[nth]);
    EXPECT_FALSE(body.empty()) << prefix << method << " carried no body: " << sent[nth];
    EXPECT_EQ(bodyOf(got[nth]), body) << prefix << method << " body changed on the way:\n"
                                      << got[nth];
    EXPECT_EQ(headerValue(got[nth], "Content-Length"), std::to_string(body.size())) << got[nth];
    // Sofia writes the Content-Type header anew: the same type and parameters, its own spacing.
    EXPECT_EQ(compact(headerValue(got[nth], "Content-Type")),
              compact(headerValue(sent[nth], "Content-Type")));
  }

  std::unique_ptr<Sipp> psap_;
  std::unique_ptr<Sipp> caller_;
};

// Issue 13, "what it must show" 1: the phone's own location reaches the PSAP as it sent it.
TEST_F(BodyRelay, DevicePidfLoReachesThePsapByteForByte) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-psap-expect-sdp-and-named-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  const std::string body = deviceBody(kDevicePidf);
  caller_ = call("911", "caller", body, "multipart/mixed;boundary=dev-bnd-42",
                 "<cid:loc1@phone.example>");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));

  const std::string sent = bodyOf(messagesOf(*caller_, false, "INVITE ").at(0));
  ASSERT_EQ(sent.rfind(body, 0), 0u) << "the caller did not send the body the test wrote";
  const auto invites = messagesOf(*psap_, true, "INVITE ");
  ASSERT_EQ(invites.size(), 1u) << report({psap_.get()});
  const std::string& invite = invites[0];
  EXPECT_EQ(bodyOf(invite), sent) << invite;  // SDP and the phone's PIDF-LO, every byte
  EXPECT_EQ(headerValue(invite, "Content-Length"), std::to_string(sent.size()));
  EXPECT_EQ(headerValue(invite, "Content-Type"), "multipart/mixed;boundary=dev-bnd-42");
  EXPECT_EQ(headerValue(invite, "Geolocation"), "<cid:loc1@phone.example>");
  EXPECT_EQ(invite.find("loc-src"), std::string::npos) << "sosproxy added a location:\n" << invite;

  // The PSAP's SDP answer reaches the caller as the PSAP sent it.
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE"));

  const std::string cid = inviteCallId(*caller_, false);
  const auto route = waitForLogLine({{"event", "route"}, {"call_id", cid}});
  EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
  EXPECT_EQ(route.get("pidf"), "device-kept") << route.raw;
  EXPECT_EQ(route.get("location_by")
                .rfind("device-supplied: location supplied by the device in "
                       "the INVITE: civic 301 Capitol Ave, FLR 5",
                       0),
            0u)
      << route.raw;
}

// "What it must show" 2: a garbled PIDF-LO stays as sent, and ours (HQ Floor 2, from the subnet)
// goes beside it, named first by Geolocation.
TEST_F(BodyRelay, GarbledDevicePidfLoGetsOursBesideIt) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-psap-expect-sdp-and-named-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  const std::string body = deviceBody(garbledPidf());
  caller_ = call("911", "caller", body, "multipart/mixed;boundary=dev-bnd-42",
                 "<cid:loc1@phone.example>");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));

  const std::string sent = bodyOf(messagesOf(*caller_, false, "INVITE ").at(0));
  const std::string invite = findMessage(*psap_, true, "INVITE ");
  const std::string got = bodyOf(invite);
  EXPECT_EQ(headerValue(invite, "Content-Length"), std::to_string(got.size()));
  // The caller's parts, every byte up to its close delimiter, then ours, then the close
  // delimiter and whatever followed it.
  const std::string close = "\r\n--dev-bnd-42--";
  const size_t theirs = sent.find(close);
  ASSERT_NE(theirs, std::string::npos);
  EXPECT_EQ(got.substr(0, theirs), sent.substr(0, theirs)) << got;
  EXPECT_EQ(got.substr(got.size() - (sent.size() - theirs)), sent.substr(theirs)) << got;
  const std::string ours = got.substr(theirs, got.size() - sent.size());
  EXPECT_EQ(
      ours.rfind("\r\n--dev-bnd-42\r\nContent-Type: application/pidf+xml\r\nContent-ID: <", 0), 0u)
      << ours;
  EXPECT_NE(ours.find("<ca:HNO>100</ca:HNO>"), std::string::npos) << ours;
  EXPECT_NE(ours.find("<ca:RD>Main</ca:RD>"), std::string::npos) << ours;
  EXPECT_NE(ours.find("<ca:FLR>2</ca:FLR>"), std::string::npos) << ours;  // HQ Floor 2
  const size_t idAt = ours.find("Content-ID: <") + 13;
  const std::string ourId = ours.substr(idAt, ours.find('>', idAt) - idAt);
  EXPECT_EQ(headerValue(invite, "Geolocation"),
            "<cid:" + ourId + ">;loc-src=sosproxy.test, <cid:loc1@phone.example>");
  EXPECT_EQ(headerValue(invite, "Geolocation-Routing"), "yes");
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE"));

  const auto route =
      waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(*caller_, false)}});
  EXPECT_EQ(route.get("location"), "HQ Floor 2") << route.raw;
  EXPECT_EQ(route.get("pidf"), "added-beside-device") << route.raw;
  EXPECT_NE(route.get("location_by")
                .find("device location unusable: part <loc1@phone.example>: "
                      "not well-formed"),
            std::string::npos)
      << route.raw;
  EXPECT_EQ(metric("sosproxy_device_location_unusable_total"), 1);
}

// "What it must show" 3: an ordinary call's multipart body reaches the carrier intact.
TEST_F(BodyRelay, OrdinaryCallMultipartBodyReachesTheCarrierIntact) {
  startProxy();
  psap_ = startTrunk("uas-answer-expect-bye.xml", ports_.carrier, "carrier", "u1",
                     {{"expect_user", "5551234"}});
  ASSERT_FALSE(HasFailure());
  const std::string body =
      "This preamble is for MIME readers that do not understand multipart.\r\n"
      "--ordinary-b\r\nContent-Type: application/sdp\r\nContent-Disposition: session\r\n\r\n" +
      std::string(kSdp) +
      "\r\n--ordinary-b\r\nContent-Type: application/vnd.example.call-info+json\r\n"
      "Content-ID: <info@pbx.example>\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "{\"queue\": \"sales\", \"note\": \"--ordinary-b is not a delimiter here\"}\r\n"
      "--ordinary-b--\r\nepilogue\r\n";
  caller_ = call("5551234", "caller", body, "multipart/mixed; boundary=\"ordinary-b\"", "");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "INVITE ", "INVITE"));
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE"));
}

// An upstream ESRP's body (RFC 7852): SDP, then a nested multipart with its PIDF-LO and
// additional data. A usable location inside it is the caller's: every part arrives, unchanged.
TEST_F(BodyRelay, NestedMultipartWithAUsableLocationIsRelayedWhole) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-psap-expect-sdp-and-named-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  const std::string body =
      "--esrp-outer\r\nContent-Type: application/sdp\r\n\r\n" + std::string(kSdp) +
      "\r\n--esrp-outer\r\nContent-Type: multipart/mixed;boundary=esrp-inner\r\n\r\n"
      "--esrp-inner\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc1@phone.example>\r\n"
      "\r\n" +
      std::string(kDevicePidf) +
      "\r\n--esrp-inner\r\nContent-Type: application/EmergencyCallData.ProviderInfo+xml\r\n"
      "Content-ID: <provider@esrp.example>\r\n\r\n"
      "<ProviderInfo xmlns=\"urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo\">"
      "<DataProviderString>Example ESRP</DataProviderString></ProviderInfo>\r\n"
      "--esrp-inner--\r\n--esrp-outer--\r\n";
  caller_ = call("911", "caller", body, "multipart/mixed;boundary=esrp-outer",
                 "<cid:loc1@phone.example>");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "INVITE ", "INVITE"));
  const auto route =
      waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(*caller_, false)}});
  EXPECT_EQ(route.get("pidf"), "device-kept") << route.raw;
}

// Issue 14, "what it must show" 2: a location by reference only (a URI sosproxy does not fetch)
// is kept in the Geolocation header, and ours goes by value beside it.
TEST_F(BodyRelay, LocationByReferenceOnlyGetsOursByValue) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  caller_ = call("911", "caller", kSdp, "application/sdp", "<https://lis.example/loc/1>");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
  const std::string invite = findMessage(*psap_, true, "INVITE ");
  const std::string geo = headerValue(invite, "Geolocation");
  EXPECT_EQ(geo.rfind("<cid:", 0), 0u) << geo;
  EXPECT_NE(geo.find(">;loc-src=sosproxy.test, <https://lis.example/loc/1>"), std::string::npos)
      << geo;
  const std::string got = bodyOf(invite);
  // The caller's SDP is the first part, byte for byte (without the empty line SIPp ends a
  // file's body with, which the shield leaves out).
  EXPECT_NE(got.find("\r\nContent-Type: application/sdp\r\n\r\n" + std::string(kSdp) + "\r\n--"),
            std::string::npos)
      << got;
  const auto route =
      waitForLogLine({{"event", "route"}, {"call_id", inviteCallId(*caller_, false)}});
  EXPECT_EQ(route.get("pidf"), "added-beside-device") << route.raw;
  EXPECT_NE(route.get("location_by").find("by reference only (<https://lis.example/loc/1>)"),
            std::string::npos)
      << route.raw;
}

// Late offer (RFC 3261 13.2.1) on an emergency call: the INVITE carries our PIDF-LO alone, the
// PSAP's 200 carries the offer to the caller, the caller's ACK the answer to the PSAP.
TEST_F(BodyRelay, LateOfferEmergencyCallCarriesTheOfferAndTheAnswer) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-answer-offer-expect-sdp-in-ack.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  caller_ = startCaller("uac-call-late-offer-expect-200.xml", "caller", "911");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
  const std::string invite = findMessage(*psap_, true, "INVITE ");
  const std::string got = bodyOf(invite);
  EXPECT_EQ(headerValue(invite, "Content-Length"), std::to_string(got.size()));
  EXPECT_NE(got.find("Content-Type: application/pidf+xml"), std::string::npos) << invite;
  EXPECT_EQ(got.find("application/sdp"), std::string::npos) << invite;
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE"));
  ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "ACK ", "ACK"));
}

// Re-INVITE and UPDATE bodies, and the SDP of their answers, in both directions.
TEST_F(BodyRelay, InDialogBodiesCrossInBothDirections) {
  startProxy();
  {
    SCOPED_TRACE("re-INVITE from the caller");
    psap_ = startTrunk("uas-answer-accept-reinvite.xml", ports_.carrier, "carrier", "u1",
                       {{"expect_user", "5551234"}});
    caller_ = startCaller("uac-reinvite-after-answer.xml", "caller", "5551234");
    ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "INVITE ", "INVITE", 0));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE", 0));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "INVITE ", "INVITE", 1));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "INVITE", 1));
  }
  {
    SCOPED_TRACE("re-INVITE from the callee");
    psap_ = startTrunk("uas-answer-then-reinvite.xml", ports_.carrier, "carrier2", "u1",
                       {{"expect_user", "5551234"}});
    caller_ = startCaller("uac-call-accept-reinvite.xml", "caller2", "5551234");
    ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "INVITE ", "INVITE", 0));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "SIP/2.0 200", "INVITE", 0));
  }
  {
    SCOPED_TRACE("UPDATE and INFO from the caller");
    psap_ = startTrunk("uas-answer-accept-update-info-options.xml", ports_.carrier, "carrier3",
                       "u1", {{"expect_user", "5551234"}});
    caller_ = startCaller("uac-update-info-options.xml", "caller3", "5551234");
    ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "UPDATE ", "UPDATE"));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*psap_, *caller_, "SIP/2.0 200", "UPDATE"));
    ASSERT_NO_FATAL_FAILURE(expectRelayed(*caller_, *psap_, "INFO ", "INFO"));
  }
}

// Issue 14, "what it must show" 5: the PSAP's shield. A trusted phone's INVITE with a malformed
// SDP attribute and a mangled unknown header reaches the PSAP with the SDP well-formed (the bad
// line left out, every other byte as sent) and without that header; the call completes.
TEST_F(BodyRelay, MalformedSdpAndMangledHeaderNeverReachThePsap) {
  startProxy("udp", /*withLocations=*/true);
  psap_ = startTrunk("uas-psap-expect-pidf.xml", ports_.psapA, "il-psap-a");
  ASSERT_FALSE(HasFailure());
  std::string sdp = kSdp;
  const std::string anchorLine = "a=rtpmap:8 PCMA/8000\r\n";
  sdp.insert(sdp.find(anchorLine) + anchorLine.size(), "a=rtpmap:eight PCMA\r\n");
  caller_ =
      call("911", "caller", sdp, "application/sdp", "<cid:x@y>\r\nMangled-Header: <<<;;;>>> %%%");
  ASSERT_NO_FATAL_FAILURE(finish(*caller_, *psap_));
  const std::string sent = findMessage(*caller_, false, "INVITE ");
  ASSERT_NE(sent.find("Mangled-Header: "), std::string::npos) << "the caller did not send it";
  const std::string invite = findMessage(*psap_, true, "INVITE ");
  EXPECT_EQ(invite.find("Mangled-Header"), std::string::npos) << invite;
  EXPECT_EQ(invite.find("rtpmap:eight"), std::string::npos) << invite;
  // The SDP part is the caller's SDP without the bad line, byte for byte.
  EXPECT_NE(
      bodyOf(invite).find("Content-Type: application/sdp\r\n\r\n" + std::string(kSdp) + "\r\n--"),
      std::string::npos)
      << invite;
  EXPECT_EQ(headerValue(invite, "X-Test-Case"), "caller");  // an X- header is relayed
  EXPECT_EQ(metric("sosproxy_sdp_shielded_total"), 1);
  EXPECT_GE(metric("sosproxy_headers_dropped_total"), 1);
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_->output().find("SDP cleaned: line 9: a=rtpmap:eight PCMA (rtpmap not") !=
               std::string::npos;
      },
      milliseconds(10000)))
      << proxy_->output();
}

// ---- The PIDF-LO corpus (tests/data/pidf-corpus, "what it must show" 4) ----

struct CorpusCase {
  std::string file;
  bool usable = false;  // MANIFEST.tsv: what reading the document says
  std::string why;
};

std::vector<CorpusCase> readManifest(const std::filesystem::path& dir) {
  std::vector<CorpusCase> out;
  std::istringstream in(readFile(dir / "MANIFEST.tsv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, '\t');) f.push_back(c);
    if (f.size() < 4) continue;
    out.push_back({f[0], f[1] == "usable", f[3]});
  }
  return out;
}

// Each document of the corpus is sent as 1001's own location (multipart/mixed: SDP, then the
// document with a Content-ID the Geolocation header names; Geolocation-Routing: yes). What the
// PSAP must receive: the caller's body byte for byte, then, when the document says nothing a PSAP
// can use, our PIDF-LO for HQ Floor 2 beside it. The test prints one row per document.
TEST_F(BodyRelay, PidfLoCorpusEachDocumentAsTheDevicesLocation) {
  const std::filesystem::path corpus =
      std::filesystem::path(SOS_SOURCE_DIR) / "tests/data/pidf-corpus";
  const auto cases = readManifest(corpus);
  ASSERT_GE(cases.size(), 30u) << "corpus manifest missing or short";
  startProxy("udp", /*withLocations=*/true);

  const std::string boundary = "corpus-7f3a-boundary";
  std::string inf = "SEQUENTIAL\n";
  std::map<std::string, std::string> sentDocs;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string doc = readFile(corpus / cases[i].file);
    ASSERT_EQ(doc.find(boundary), std::string::npos) << cases[i].file;
    sentDocs[cases[i].file] = doc;
    std::string body =
        "--" + boundary + "\r\nContent-Type: application/sdp\r\n\r\n" + kSdp + "\r\n--" + boundary +
        "\r\nContent-Type: application/pidf+xml\r\nContent-ID: <doc" + std::to_string(i) +
        "@phone.example>\r\n\r\n" + doc + "\r\n--" + boundary + "--\r\n";
    inf += writeBody("corpus-" + std::to_string(i), body).string() + ";" + cases[i].file + ";" +
           boundary + ";doc" + std::to_string(i) + "@phone.example\n";
  }
  writeFile(dir_.path() / "corpus.csv", inf);

  SippOptions p;
  p.scenario = "uas-psap-expect-sdp-and-named-pidf.xml";
  p.name = "il-psap-a";
  p.port = ports_.psapA;
  p.calls = static_cast<int>(cases.size());
  p.timeoutSeconds = 120;
  psap_ = std::make_unique<Sipp>(p, dir_.path());
  ASSERT_TRUE(psap_->start()) << "SIPp UAS il-psap-a did not bind its port";
  SippOptions o;
  o.scenario = "uac-911-corpus-expect-200.xml";
  o.name = "corpus-caller";
  o.remote = "127.0.0.1:" + std::to_string(ports_.proxy);
  o.calls = static_cast<int>(cases.size());
  o.timeoutSeconds = 100;
  o.extraArgs = {"-inf", (dir_.path() / "corpus.csv").string(), "-r", "20", "-l", "5"};
  caller_ = std::make_unique<Sipp>(o, dir_.path());
  ASSERT_TRUE(caller_->start());
  const int callerRc = caller_->wait();
  const int psapRc = psap_->wait();
  EXPECT_EQ(callerRc, 0) << report({caller_.get(), psap_.get()});
  EXPECT_EQ(psapRc, 0) << report({caller_.get(), psap_.get()});

  std::map<std::string, std::string> callIdOf, sentBodyOf, receivedOf;
  for (const auto& m : messagesOf(*caller_, false, "INVITE ")) {
    const std::string name = headerValue(m, "X-Test-Case");
    callIdOf[name] = headerValue(m, "Call-ID");
    sentBodyOf[name] = bodyOf(m);
  }
  for (const auto& m : messagesOf(*psap_, true, "INVITE "))
    receivedOf[headerValue(m, "X-Test-Case")] = m;

  std::ostringstream table;
  table << "\n" << std::left;
  auto row = [&](const std::string& a, const std::string& b, const std::string& c,
                 const std::string& d, const std::string& e) {
    table << a << " | " << b << " | " << c << " | " << d << " | " << e << "\n";
  };
  row("document", "manifest", "located by", "routed to", "parts at the PSAP");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file + " (" + c.why + ")");
    const auto route =
        waitForLogLine({{"event", "route"}, {"call_id", callIdOf[c.file]}}, milliseconds(2000));
    const std::string& invite = receivedOf[c.file];
    const std::string got = bodyOf(invite);
    const std::string& sent = sentBodyOf[c.file];
    const std::string close = "\r\n--" + boundary + "--";
    const size_t theirs = sent.find(close);
    std::string parts = "none";
    if (!invite.empty() && theirs != std::string::npos) {
      // The caller's SDP and document, every byte, always.
      EXPECT_EQ(got.substr(0, theirs), sent.substr(0, theirs));
      EXPECT_NE(got.find(sentDocs[c.file]), std::string::npos) << "document not intact";
      EXPECT_EQ(headerValue(invite, "Content-Length"), std::to_string(got.size()));
      const bool ours =
          got.size() > sent.size() && got.find("Content-ID: <loc-", theirs) != std::string::npos;
      parts = ours ? "sdp, device, ours" : (got == sent ? "sdp, device" : "changed!");
      if (c.usable) {
        EXPECT_EQ(got, sent) << "a usable document must reach the PSAP unchanged";
      } else {
        EXPECT_TRUE(ours) << "an unusable document needs ours beside it";
        EXPECT_EQ(got.substr(got.size() - (sent.size() - theirs)), sent.substr(theirs));
      }
    } else {
      ADD_FAILURE() << "no INVITE reached il-psap-a";
    }
    EXPECT_EQ(route.get("trunk"), "il-psap-a") << route.raw;
    EXPECT_EQ(route.get("pidf"), c.usable ? "device-kept" : "added-beside-device") << route.raw;
    const std::string by = route.get("location_by");
    if (c.usable) {
      EXPECT_EQ(by.rfind("device-supplied:", 0), 0u) << route.raw;
    } else {
      EXPECT_EQ(by.rfind("subnet:", 0), 0u) << route.raw;
      EXPECT_NE(by.find("; device location unusable: "), std::string::npos) << route.raw;
    }
    std::string how = by.substr(0, by.find(':'));
    if (!c.usable) how += " (" + by.substr(by.find("device location unusable: ") + 26) + ")";
    row(c.file, c.usable ? "usable" : "unusable", how,
        route.get("trunk") + " (" + route.get("route") + ")", parts);
  }
  std::printf("%s", table.str().c_str());
}

}  // namespace
}  // namespace sos::itest
