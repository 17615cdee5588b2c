// MIME bodies (pidf/multipart.h): what a caller sends is split without losing a byte, and parts are
// added without touching the rest (RFC 2046 section 5.1, RFC 5621).
#include "pidf/multipart.h"

#include <gtest/gtest.h>

namespace sos::pidf {
namespace {

constexpr const char* kSdp =
    "v=0\r\no=- 1 1 IN IP4 10.1.2.45\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

std::string twoParts(const std::string& boundary = "b1") {
  return "--" + boundary + "\r\nContent-Type: application/sdp\r\n\r\n" + kSdp + "\r\n--" +
         boundary +
         "\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc1@phone.example>\r\n"
         "Content-Disposition: by-reference;handling=optional\r\n\r\n<presence/>\r\n--" +
         boundary + "--\r\n";
}

TEST(MimeParse, ASingleEntityIsItsOwnContent) {
  auto e = parseBody("application/sdp", kSdp);
  EXPECT_FALSE(e.multipart);
  EXPECT_EQ(e.contentType, "application/sdp");
  EXPECT_EQ(e.content, kSdp);
}

TEST(MimeParse, MultipartMixedGivesEachPartWithItsHeadersAndContent) {
  auto e = parseBody("multipart/mixed;boundary=b1", twoParts());
  ASSERT_TRUE(e.multipart);
  EXPECT_TRUE(e.wellFormed) << e.problem;
  ASSERT_EQ(e.parts.size(), 2u);
  EXPECT_EQ(e.parts[0].contentType, "application/sdp");
  EXPECT_EQ(e.parts[0].content, kSdp);
  EXPECT_EQ(e.parts[0].raw, std::string("Content-Type: application/sdp\r\n\r\n") + kSdp);
  EXPECT_EQ(e.parts[1].contentType, "application/pidf+xml");
  EXPECT_EQ(e.parts[1].contentId, "loc1@phone.example");
  EXPECT_EQ(e.parts[1].disposition, "by-reference;handling=optional");
  EXPECT_EQ(e.parts[1].content, "<presence/>");
}

TEST(MimeParse, BoundaryParameterQuotedAnyCaseAndWithSpaces) {
  EXPECT_EQ(contentTypeParam("multipart/mixed; BOUNDARY=\"a b;c\"", "boundary"), "a b;c");
  EXPECT_EQ(contentTypeParam("multipart/mixed ; charset=x ; boundary = b1", "boundary"), "b1");
  EXPECT_EQ(contentTypeParam("multipart/mixed", "boundary"), "");
  EXPECT_EQ(mediaType(" Multipart/Mixed ;boundary=x"), "multipart/mixed");
  auto e = parseBody("multipart/mixed; boundary=\"b1\"", twoParts());
  EXPECT_EQ(e.parts.size(), 2u);
}

TEST(MimeParse, PreambleEpilogueAndTransportPaddingAreNotParts) {
  std::string body = "preamble text\r\n" + twoParts() + "epilogue\r\n";
  body.replace(body.find("--b1\r\nContent-Type: application/pidf"), 6, "--b1  \r\n");
  auto e = parseBody("multipart/mixed;boundary=b1", body);
  EXPECT_TRUE(e.wellFormed) << e.problem;
  ASSERT_EQ(e.parts.size(), 2u);
  EXPECT_EQ(e.parts[0].content, kSdp);
  EXPECT_EQ(e.parts[1].content, "<presence/>");
}

TEST(MimeParse, BareLineFeedsAreAccepted) {
  std::string body = "--b1\nContent-Type: application/sdp\n\nv=0\n\n--b1--\n";
  auto e = parseBody("multipart/mixed;boundary=b1", body);
  EXPECT_TRUE(e.wellFormed);
  ASSERT_EQ(e.parts.size(), 1u);
  EXPECT_EQ(e.parts[0].content, "v=0\n");
}

TEST(MimeParse, TextThatOnlyStartsLikeTheBoundaryIsContent) {
  std::string body =
      "--b1\r\nContent-Type: text/plain\r\n\r\nline\r\n--b1x not a delimiter\r\n--b1--";
  auto e = parseBody("multipart/mixed;boundary=b1", body);
  ASSERT_EQ(e.parts.size(), 1u);
  EXPECT_EQ(e.parts[0].content, "line\r\n--b1x not a delimiter");
  EXPECT_TRUE(e.wellFormed);
}

TEST(MimeParse, NestedMultipartIsSplitToo) {
  std::string inner =
      "--in\r\nContent-Type: application/pidf+xml\r\nContent-ID: <x@y>\r\n\r\n<p/>\r\n--in--";
  std::string body =
      "--out\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--out\r\n"
      "Content-Type: multipart/mixed;boundary=in\r\n\r\n" +
      inner + "\r\n--out--\r\n";
  auto e = parseBody("multipart/mixed;boundary=out", body);
  ASSERT_EQ(e.parts.size(), 2u);
  EXPECT_TRUE(e.parts[1].multipart);
  EXPECT_EQ(e.parts[1].content, inner);
  ASSERT_EQ(e.parts[1].parts.size(), 1u);
  EXPECT_EQ(e.parts[1].parts[0].contentId, "x@y");
  auto all = flatten(e);
  ASSERT_EQ(all.size(), 4u);  // root, sdp, inner multipart, its pidf (depth first)
  EXPECT_EQ(all[1]->contentType, "application/sdp");
  EXPECT_EQ(all[3]->contentId, "x@y");
}

TEST(MimeParse, APartWithoutHeadersIsTextPlain) {
  auto e = parseBody("multipart/mixed;boundary=b1", "--b1\r\n\r\nhello\r\n--b1--");
  ASSERT_EQ(e.parts.size(), 1u);
  EXPECT_EQ(e.parts[0].contentType, "text/plain");
  EXPECT_EQ(e.parts[0].content, "hello");
}

TEST(MimeParse, BrokenMultipartsSayWhatIsWrong) {
  auto noBoundary = parseBody("multipart/mixed", twoParts());
  EXPECT_FALSE(noBoundary.wellFormed);
  EXPECT_NE(noBoundary.problem.find("boundary"), std::string::npos);
  auto wrong = parseBody("multipart/mixed;boundary=zz", twoParts());
  EXPECT_FALSE(wrong.wellFormed);
  EXPECT_TRUE(wrong.parts.empty());
  std::string cut = twoParts();
  cut.resize(cut.size() - 8);  // "--b1--\r\n" gone
  auto open = parseBody("multipart/mixed;boundary=b1", cut);
  EXPECT_FALSE(open.wellFormed);
  ASSERT_EQ(open.parts.size(), 2u);  // what is there is still found
  EXPECT_EQ(open.parts[1].content, "<presence/>");
}

TEST(MimeParse, DepthAndPartCountAreBounded) {
  std::string many;
  for (int i = 0; i < 100; ++i) many += "--b\r\n\r\nx\r\n";
  many += "--b--";
  auto e = parseBody("multipart/mixed;boundary=b", many);
  EXPECT_FALSE(e.wellFormed);
  EXPECT_EQ(e.parts.size(), kMaxMimeParts);
  std::string deep = "x";
  for (int i = 0; i < 20; ++i) {
    std::string b = "d" + std::to_string(i);
    deep = "--" + b + "\r\nContent-Type: " +
           (i == 0 ? "text/plain" : "multipart/mixed;boundary=d" + std::to_string(i - 1)) +
           "\r\n\r\n" + deep + "\r\n--" + b + "--";
  }
  auto d = parseBody("multipart/mixed;boundary=d19", deep);  // never recurses without end
  EXPECT_FALSE(flatten(d).empty());
}

TEST(MimeDecode, Base64AndQuotedPrintableAreUndone) {
  MimeEntity b64;
  b64.transferEncoding = "base64";
  b64.content = "PHByZXNl\r\nbmNlLz4=\r\n";
  EXPECT_EQ(decodedContent(b64), "<presence/>");
  MimeEntity qp;
  qp.transferEncoding = "quoted-printable";
  qp.content = "<ca:A3>M=C3=BCnchen</ca:A3>=\r\n<x/>";
  EXPECT_EQ(decodedContent(qp), "<ca:A3>M\xC3\xBCnchen</ca:A3><x/>");
  MimeEntity plain;
  plain.transferEncoding = "8bit";
  plain.content = "as is=41";
  EXPECT_EQ(decodedContent(plain), "as is=41");
}

TEST(MimeBuild, AppendedPartsLeaveEveryByteOfTheBodyInPlace) {
  std::string body = "preamble\r\n" + twoParts() + "epilogue";
  std::string part = makePart("Content-Type: text/plain\r\n", "ours");
  std::string out = appendParts(body, "b1", {part});
  const std::string close = "\r\n--b1--\r\nepilogue";
  size_t keep = body.size() - close.size();
  EXPECT_EQ(out.substr(0, keep), body.substr(0, keep));
  EXPECT_EQ(out.substr(keep), "\r\n--b1\r\nContent-Type: text/plain\r\n\r\nours" + close);
  auto e = parseBody("multipart/mixed;boundary=b1", out);
  ASSERT_EQ(e.parts.size(), 3u);
  EXPECT_EQ(e.parts[2].content, "ours");
  EXPECT_TRUE(appendParts("no delimiters here", "b1", {part}).empty());
}

TEST(MimeBuild, BuiltMultipartParsesBackToItsParts) {
  std::string b = makeBoundary(7);
  std::string body = buildMultipart(b, {makePart("Content-Type: application/sdp\r\n", kSdp),
                                        makePart("Content-Type: text/plain\r\n", "x")});
  EXPECT_EQ(body.rfind("--" + b + "\r\n", 0), 0u);
  EXPECT_EQ(body.substr(body.size() - b.size() - 6), "--" + b + "--\r\n");
  auto e = parseBody("multipart/mixed;boundary=" + b, body);
  ASSERT_EQ(e.parts.size(), 2u);
  EXPECT_EQ(e.parts[0].content, kSdp);
  EXPECT_EQ(e.parts[1].content, "x");
}

TEST(MimeBuild, BoundaryAvoidsWhatTheBodyContains) {
  std::string first = makeBoundary(3);
  std::string avoided = makeBoundary(3, "xx" + first + "yy");
  EXPECT_NE(first, avoided);
  EXPECT_EQ(first, makeBoundary(3, "nothing alike"));
}

}  // namespace
}  // namespace sos::pidf
