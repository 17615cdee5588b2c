#include "routing/dial_plan.h"

#include <gtest/gtest.h>

namespace sos::routing {
namespace {

// The two sites of the demo enterprise (config/examples/demo.yaml), as far as dialing goes.
config::Config sitesOnly() {
  config::Config c;
  config::Site hq;
  hq.name = "HQ";
  hq.country = "US";
  hq.dialStrings = {"911"};
  hq.outsideLinePrefix = "9";
  hq.testNumbers = {"933"};
  config::Site london;
  london.name = "London";
  london.country = "GB";
  london.dialStrings = {"999", "112"};
  c.sites = {hq, london};
  return c;
}

TEST(ParseDialed, Schemes) {
  struct Case {
    const char* uri;
    const char* scheme;
    const char* user;
  };
  for (const Case& c : {
           Case{"sip:911@10.0.0.5", "sip", "911"},
           Case{"sips:911@pbx.example:5061;transport=tcp", "sips", "911"},
           Case{"SIP:911@10.0.0.5", "sip", "911"},
           Case{"sip:9911;phone-context=x@h", "sip", "9911"},
           Case{"sip:%39%31%31@h", "sip", "911"},
           Case{"sip:911:secret@h", "sip", "911"},
           Case{"sip:pbx.example", "sip", ""},
           Case{"<sip:911@h>", "sip", "911"},
           Case{"tel:911", "tel", "911"},
           Case{"tel:+1-217-555", "tel", "+1217555"},
           Case{"tel:(217) 555.0100;phone-context=+1", "tel", "217 5550100"},
           Case{"urn:service:SOS.fire", "urn", "urn:service:sos.fire"},
           Case{"URN:SERVICE:SOS", "urn", "urn:service:sos"},
           Case{"911", "", "911"},
           Case{"911@host", "", "911"},
           Case{"+12175551001", "", "+12175551001"},
           Case{"", "", ""},
       }) {
    DialedNumber d = parseDialed(c.uri);
    EXPECT_EQ(d.scheme, c.scheme) << c.uri;
    EXPECT_EQ(d.user, c.user) << c.uri;
  }
}

TEST(ParseDialed, MalformedEscapesAreKeptLiterally) {
  EXPECT_EQ(parseDialed("sip:9%1@h").user, "9%1");
  EXPECT_EQ(parseDialed("sip:%zz@h").user, "%zz");
  EXPECT_EQ(parseDialed("sip:%@h").user, "%");
  EXPECT_EQ(parseDialed("sip:91%").user, "");  // no '@': a host, not a user
}

struct ClassifyCase {
  const char* uri;
  const char* callerSite;
  bool emergency;
  bool test;
  const char* normalized;
  const char* matchedSite;
};

TEST(Classify, Table) {
  config::Config cfg = sitesOnly();
  const ClassifyCase cases[] = {
      // Kari's Law: 911 with and without the outside-line prefix.
      {"sip:911@10.0.0.5", "HQ", true, false, "911", "HQ"},
      {"sip:9911@10.0.0.5", "HQ", true, false, "911", "HQ"},
      {"tel:911", "HQ", true, false, "911", "HQ"},
      {"tel:9-911", "HQ", true, false, "911", "HQ"},
      {"911", "HQ", true, false, "911", "HQ"},
      {"911@pbx", "HQ", true, false, "911", "HQ"},
      {"sip:911;phone-context=x@h", "HQ", true, false, "911", "HQ"},
      {"sip:%39%31%31@h", "HQ", true, false, "911", "HQ"},
      // Test number, with and without prefix.
      {"sip:933@h", "HQ", true, true, "933", "HQ"},
      {"sip:9933@h", "HQ", true, true, "933", "HQ"},
      // London's own numbers.
      {"sip:999@h", "London", true, false, "999", "London"},
      {"sip:112@h", "London", true, false, "112", "London"},
      // Another site's dial strings still count, and say whose they are.
      {"sip:999@h", "HQ", true, false, "999", "London"},
      {"sip:911@h", "London", true, false, "911", "HQ"},
      {"sip:9911@h", "London", true, false, "911", "HQ"},
      // A test number belongs to its own site only.
      {"sip:933@h", "London", false, false, "", ""},
      // Service URNs (RFC 5031), any case, known or unknown sub-service.
      {"urn:service:sos", "HQ", true, false, "urn:service:sos", ""},
      {"urn:service:sos.fire", "HQ", true, false, "urn:service:sos.fire", ""},
      {"URN:SERVICE:SOS.FIRE", "HQ", true, false, "urn:service:sos.fire", ""},
      {"urn:service:SOS.Police", "London", true, false, "urn:service:sos.police", ""},
      {"urn:service:sos.unknownthing", "London", true, false, "urn:service:sos.unknownthing", ""},
      {"urn:service:test.sos", "HQ", true, true, "urn:service:test.sos", ""},
      {"urn:service:test.sos.fire", "HQ", true, true, "urn:service:test.sos.fire", ""},
      {"urn:service:sosfoo", "HQ", false, false, "", ""},
      {"urn:service:counseling", "HQ", false, false, "", ""},
      {"urn:service:test", "HQ", false, false, "", ""},
      // Longer numbers never match a short code.
      {"sip:9112345@h", "HQ", false, false, "", ""},
      {"sip:9111@h", "HQ", false, false, "", ""},
      {"sip:19911@h", "HQ", false, false, "", ""},
      {"sip:99911@h", "HQ", false, false, "", ""},
      {"sip:91@h", "HQ", false, false, "", ""},
      {"sip:9@h", "HQ", false, false, "", ""},
      {"sip:5551234@h", "HQ", false, false, "", ""},
      {"tel:+12175551234", "HQ", false, false, "", ""},
      // Not a dialed number at all.
      {"sip:pbx.example", "HQ", false, false, "", ""},
      {"pres:911@h", "HQ", false, false, "", ""},
      {"", "HQ", false, false, "", ""},
      {"sip:", "HQ", false, false, "", ""},
      {"sip:@", "HQ", false, false, "", ""},
      {"urn:", "HQ", false, false, "", ""},
      {":::;;;@@@%%%", "HQ", false, false, "", ""},
  };
  for (const ClassifyCase& c : cases) {
    const config::Site* caller = nullptr;
    for (const auto& s : cfg.sites) {
      if (s.name == c.callerSite) caller = &s;
    }
    ASSERT_NE(caller, nullptr);
    EmergencyMatch m = classify(c.uri, *caller, cfg);
    EXPECT_EQ(m.emergency, c.emergency) << c.uri << " from " << c.callerSite;
    EXPECT_EQ(m.test, c.test) << c.uri;
    EXPECT_EQ(m.normalized, c.normalized) << c.uri;
    EXPECT_EQ(m.matchedSite, c.matchedSite) << c.uri;
  }
}

TEST(Classify, DialedIsTheUserAsReceived) {
  config::Config cfg = sitesOnly();
  EXPECT_EQ(classify("sip:9911@h", cfg.sites[0], cfg).dialed, "9911");
  EXPECT_EQ(classify("sip:5551234@h", cfg.sites[0], cfg).dialed, "5551234");
  EXPECT_EQ(classify("URN:Service:SOS", cfg.sites[0], cfg).dialed, "urn:service:sos");
}

TEST(Classify, EmptyDialStringsNeverMatch) {
  config::Config cfg = sitesOnly();
  cfg.sites[0].dialStrings.push_back("");
  cfg.sites[0].testNumbers.push_back("");
  EXPECT_FALSE(classify("sip:9@h", cfg.sites[0], cfg).emergency);
  EXPECT_FALSE(classify("sip:@h", cfg.sites[0], cfg).emergency);
}

TEST(Classify, SiteWithoutPrefixDoesNotAcceptOne) {
  config::Config cfg = sitesOnly();
  // London has no outside-line prefix: "9999" is not 999 there (nor HQ's "9" + "999").
  EXPECT_FALSE(classify("sip:9999@h", cfg.sites[1], cfg).emergency);
}

TEST(Classify, HostileInputDoesNotCrash) {
  config::Config cfg = sitesOnly();
  std::string junk;
  for (int i = 0; i < 256; ++i) junk.push_back(static_cast<char>(i));
  for (const std::string& uri :
       {junk, std::string(100000, '9'), std::string("sip:") + std::string(5000, '%'),
        std::string("sip:911\0@h", 10), std::string("tel:") + std::string(1000, '-')}) {
    EmergencyMatch m = classify(uri, cfg.sites[0], cfg);
    EXPECT_FALSE(m.emergency);
  }
}

}  // namespace
}  // namespace sos::routing
