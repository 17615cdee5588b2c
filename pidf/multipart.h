#pragma once
// MIME bodies of SIP messages (RFC 2045, RFC 2046 section 5.1, RFC 3261 section 7.4, RFC 5621):
// a single entity, or a multipart whose parts may nest. Read leniently from untrusted input;
// written so that every byte of what a caller sent can be kept.
//
// Why not Sofia's msg_multipart_parse: it takes the message's own payload over (the payload's
// length becomes 0), so a body parsed with it is relayed empty; it also cannot say where each part
// lies in the original bytes, which relaying a body byte for byte needs.
// Pure functions, no I/O, no shared state: callable from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sos::pidf {

// One MIME entity: the whole body, or one part of a multipart.
struct MimeEntity {
  std::string contentType;       // the media type, lower case, no parameters ("application/sdp")
  std::string contentTypeValue;  // the Content-Type value as written, parameters included
  std::string contentId;         // Content-ID without angle brackets, "" when absent
  std::string transferEncoding;  // Content-Transfer-Encoding, lower case, "" when absent
  std::string disposition;       // Content-Disposition as written, "" when absent
  std::string raw;      // a part as it stood between its delimiters: header lines, blank line,
                        // content (empty for the whole body)
  std::string content;  // the content as written (still transfer-encoded)
  // multipart/*: the parts, in order. `wellFormed` is false when the close delimiter is missing
  // or the boundary is not found; `problem` says what was wrong.
  bool multipart = false;
  std::string boundary;
  std::vector<MimeEntity> parts;
  bool wellFormed = true;
  std::string problem;
};

inline constexpr int kMaxMimeDepth = 8;      // multipart inside multipart, at most
inline constexpr size_t kMaxMimeParts = 64;  // parts of one multipart, at most

// Parses `body` whose Content-Type is `contentTypeValue`. Never throws; a multipart that cannot be
// split comes back with wellFormed = false and whatever parts were found.
MimeEntity parseBody(std::string_view contentTypeValue, std::string_view body);

// The media type of a Content-Type value, lower case ("multipart/mixed").
std::string mediaType(std::string_view contentTypeValue);
// A parameter of a Content-Type value ("boundary"), unquoted; "" when absent.
std::string contentTypeParam(std::string_view contentTypeValue, std::string_view name);

// The content with its transfer encoding undone (base64, quoted-printable; 7bit, 8bit and binary
// as they are). Undecodable base64 characters are skipped.
std::string decodedContent(const MimeEntity& entity);

// Every entity of the tree, depth first, the root first.
std::vector<const MimeEntity*> flatten(const MimeEntity& root);

// One part: the header lines (each ending in CRLF), the blank line, the content.
std::string makePart(std::string_view headerLines, std::string_view content);

// A multipart body of `parts` (each as makePart gives it, or a `raw` of a parsed entity) with
// `boundary`, per RFC 2046 section 5.1.1: the CRLF before each delimiter belongs to the
// delimiter, so each part's bytes stay as they are.
std::string buildMultipart(std::string_view boundary, const std::vector<std::string>& parts);

// `body`, a well-formed multipart with `boundary`, with `parts` added after its last part: every
// byte of `body` is kept, the new parts go just before its close delimiter. Empty when the close
// delimiter cannot be found.
std::string appendParts(std::string_view body, std::string_view boundary,
                        const std::vector<std::string>& parts);

// Our PIDF-LO as a body part (RFC 6442 section 3): its Content-ID (given without angle brackets)
// for the Geolocation header's cid: URL, and "Content-Disposition: by-reference;handling=optional"
// so that a UA that cannot read it does not fail the call because of it.
std::string pidfPart(std::string_view contentId, std::string_view pidf);

// multipart/mixed body carrying SDP and the PIDF-LO by value: the SDP part, then pidfPart().
std::string buildMultipartMixed(std::string_view boundary, std::string_view sdpContentType,
                                std::string_view sdp, std::string_view contentId,
                                std::string_view pidf);

// A boundary that occurs nowhere in `avoid` (RFC 2046 section 5.1.1: 1..70 bchars; letters,
// digits and '-' need no quoting).
std::string makeBoundary(uint64_t seed, std::string_view avoid = {});

}  // namespace sos::pidf
