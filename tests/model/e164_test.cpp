// Telephone numbers (model/e164.h): the E.164 check for configured ELINs and DIDs, and the form
// dialed numbers are compared in (PSAP callbacks, the ELIN index).

#include "model/e164.h"

#include <gtest/gtest.h>

namespace sos::model {
namespace {

TEST(E164, ConfiguredNumbers) {
  for (const char* ok : {"+12175550100", "+442071234567", "+123", "+123456789012345"}) {
    EXPECT_TRUE(isE164(ok)) << ok;
  }
  for (const char* bad : {"", "+", "+1", "12175550100", "+02175550100", "+1217555010a",
                          "+1234567890123456", "+1 217 555 0100", "++12175550100"}) {
    EXPECT_FALSE(isE164(bad)) << bad;
  }
}

TEST(DialedNumber, NormalForm) {
  struct Case {
    const char* text;
    const char* normal;
  };
  for (const Case& c :
       {Case{"+12175550131", "+12175550131"}, Case{"+1 (217) 555-0131", "+12175550131"},
        Case{" 1-217-555-0131 ", "12175550131"}, Case{"tel:+1-217-555-0131", "+12175550131"},
        Case{"sip:+12175550131@10.0.0.1;user=phone", "+12175550131"},
        Case{"TEL:2175550131;phone-context=+1", "2175550131"}, Case{"911", "911"}, Case{"", ""},
        Case{"+", ""}, Case{"security-desk", ""}, Case{"++12175550131", ""},
        Case{"1234567890123456", ""}}) {
    EXPECT_EQ(normalizeDialedNumber(c.text), c.normal) << c.text;
  }
}

}  // namespace
}  // namespace sos::model
