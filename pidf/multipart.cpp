#include "pidf/multipart.h"

#include <array>
#include <cstdio>

#include "base/text.h"

namespace sos::pidf {

namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

// Where a line break starts just before `at` ("\r\n" or a bare "\n"), or `at` itself when there
// is none (the body's first line).
size_t lineBreakBefore(std::string_view s, size_t at) {
  if (at >= 2 && s[at - 2] == '\r' && s[at - 1] == '\n') return at - 2;
  if (at >= 1 && s[at - 1] == '\n') return at - 1;
  return at;
}

// One boundary line: "--boundary" at the start of a line, then "--" (the close delimiter) or
// optional white space and the line's end (RFC 2046 section 5.1.1). `end` is where the next line
// begins (or the body's end).
struct Delimiter {
  size_t start = 0;  // of "--boundary"
  size_t end = 0;
  bool close = false;
};

std::vector<Delimiter> findDelimiters(std::string_view body, std::string_view boundary) {
  std::vector<Delimiter> out;
  const std::string dash = "--" + std::string(boundary);
  size_t from = 0;
  while (from <= body.size() && out.size() <= kMaxMimeParts + 1) {
    size_t at = body.find(dash, from);
    if (at == std::string_view::npos) break;
    from = at + 1;
    if (at != 0 && body[at - 1] != '\n') continue;  // not at a line start
    size_t p = at + dash.size();
    Delimiter d{at, 0, false};
    if (body.substr(p, 2) == "--") {
      d.close = true;
      p += 2;
    }
    while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
    if (p < body.size() && body[p] == '\r' && p + 1 < body.size() && body[p + 1] == '\n') {
      p += 2;
    } else if (p < body.size() && body[p] == '\n') {
      p += 1;
    } else if (p < body.size() && !d.close) {
      continue;  // "--boundaryX": a longer word that starts like the boundary
    }
    d.end = d.close ? at + dash.size() + 2 : p;
    out.push_back(d);
    if (d.close) break;
  }
  return out;
}

// "Name: value" lines with folding (RFC 5322 section 2.2.3), up to the blank line.
struct HeaderLine {
  std::string name;  // lower case
  std::string value;
};

void readPart(std::string_view raw, MimeEntity& part) {
  std::vector<HeaderLine> headers;
  size_t contentAt = 0;
  bool headersEnded = false;
  size_t p = 0;
  while (p < raw.size()) {
    size_t eol = raw.find('\n', p);
    size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(p, (eol == std::string_view::npos ? raw.size() : eol) - p);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // the blank line: the content follows
      contentAt = next;
      headersEnded = true;
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {
      headers.back().value += " " + std::string(trimLws(line));
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
      headers.push_back(
          {lowered(trimLws(line.substr(0, colon))), std::string(trimLws(line.substr(colon + 1)))});
    } else {
      // Not a header line: a part without headers that forgot its blank line. All of it is
      // content (RFC 2046 section 5.1.1: text/plain by default).
      headers.clear();
      contentAt = 0;
      headersEnded = true;
      break;
    }
    p = next;
  }
  if (!headersEnded) contentAt = raw.size();  // header lines only
  part.raw = std::string(raw);
  part.content = std::string(raw.substr(contentAt));
  for (const auto& h : headers) {
    if (h.name == "content-type" && part.contentTypeValue.empty()) {
      part.contentTypeValue = h.value;
    } else if (h.name == "content-id" && part.contentId.empty()) {
      std::string_view id = trimLws(h.value);
      if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
      part.contentId = std::string(id);
    } else if (h.name == "content-transfer-encoding" && part.transferEncoding.empty()) {
      part.transferEncoding = lowered(trimLws(h.value));
    } else if (h.name == "content-disposition" && part.disposition.empty()) {
      part.disposition = h.value;
    }
  }
  part.contentType =
      part.contentTypeValue.empty() ? "text/plain" : mediaType(part.contentTypeValue);
}

void split(MimeEntity& entity, int depth) {
  entity.multipart = true;
  entity.boundary = contentTypeParam(entity.contentTypeValue, "boundary");
  if (entity.boundary.empty() || entity.boundary.size() > 200) {
    entity.wellFormed = false;
    entity.problem = "multipart without a usable boundary parameter";
    return;
  }
  const std::string_view body = entity.content;
  auto delimiters = findDelimiters(body, entity.boundary);
  if (delimiters.empty() || delimiters.front().close) {
    entity.wellFormed = false;
    entity.problem = "boundary \"" + entity.boundary + "\" not found in the body";
    return;
  }
  for (size_t i = 0; i < delimiters.size() && !delimiters[i].close; ++i) {
    if (entity.parts.size() == kMaxMimeParts) {
      entity.wellFormed = false;
      entity.problem = "more than " + std::to_string(kMaxMimeParts) + " parts";
      return;
    }
    const size_t begin = delimiters[i].end;
    size_t end = body.size();
    if (i + 1 < delimiters.size()) {
      end = lineBreakBefore(body, delimiters[i + 1].start);
    } else if (end > begin) {
      end = lineBreakBefore(body, end);  // no close delimiter: the body's last line break
    }
    MimeEntity part;
    readPart(body.substr(begin, end > begin ? end - begin : 0), part);
    if (part.contentType.rfind("multipart/", 0) == 0) {
      if (depth + 1 >= kMaxMimeDepth) {
        part.wellFormed = false;
        part.problem = "multipart nested too deep";
      } else {
        split(part, depth + 1);
      }
    }
    entity.parts.push_back(std::move(part));
  }
  if (!delimiters.back().close) {
    entity.wellFormed = false;
    entity.problem = "no close delimiter \"--" + entity.boundary + "--\"";
  }
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string mediaType(std::string_view contentTypeValue) {
  std::string_view t = contentTypeValue.substr(0, contentTypeValue.find(';'));
  return lowered(trimLws(t));
}

std::string contentTypeParam(std::string_view value, std::string_view name) {
  // Parameters after the first ';', each name=value or name="quoted value" (RFC 2045 5.1).
  size_t p = value.find(';');
  while (p != std::string_view::npos && p < value.size()) {
    ++p;
    size_t eq = value.find('=', p);
    if (eq == std::string_view::npos) return {};
    std::string_view key = trimLws(value.substr(p, eq - p));
    size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string parsed;
    size_t next;
    if (v < value.size() && value[v] == '"') {
      size_t i = v + 1;
      for (; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        parsed += value[i];
      }
      next = value.find(';', i);
    } else {
      next = value.find(';', v);
      parsed = std::string(trimLws(
          value.substr(v, next == std::string_view::npos ? std::string_view::npos : next - v)));
    }
    if (equalsNoCase(key, name)) return parsed;
    p = next;
  }
  return {};
}

MimeEntity parseBody(std::string_view contentTypeValue, std::string_view body) {
  MimeEntity root;
  root.contentTypeValue = std::string(trimLws(contentTypeValue));
  root.contentType = mediaType(root.contentTypeValue);
  root.content = std::string(body);
  if (root.contentType.rfind("multipart/", 0) == 0) split(root, 0);
  return root;
}

std::string decodedContent(const MimeEntity& entity) {
  const std::string& in = entity.content;
  if (entity.transferEncoding == "base64") {
    std::string out;
    uint32_t bits = 0;
    int count = 0;
    for (char c : in) {
      if (c == '=') break;
      int v = base64Value(c);
      if (v < 0) continue;  // line breaks and anything else that is not base64
      bits = (bits << 6) | static_cast<uint32_t>(v);
      if (++count == 4) {
        out += static_cast<char>((bits >> 16) & 0xff);
        out += static_cast<char>((bits >> 8) & 0xff);
        out += static_cast<char>(bits & 0xff);
        bits = 0;
        count = 0;
      }
    }
    if (count == 3) {
      out += static_cast<char>((bits >> 10) & 0xff);
      out += static_cast<char>((bits >> 2) & 0xff);
    } else if (count == 2) {
      out += static_cast<char>((bits >> 4) & 0xff);
    }
    return out;
  }
  if (entity.transferEncoding == "quoted-printable") {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '=') {
        out += in[i];
        continue;
      }
      if (i + 1 < in.size() && in[i + 1] == '\n') {  // soft line break
        i += 1;
      } else if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
        i += 2;
      } else if (int hi = i + 2 < in.size() ? hexDigitValue(in[i + 1]) : -1,
                 lo = i + 2 < in.size() ? hexDigitValue(in[i + 2]) : -1;
                 hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  }
  return in;
}

std::vector<const MimeEntity*> flatten(const MimeEntity& root) {
  std::vector<const MimeEntity*> out{&root};
  for (size_t i = 0; i < out.size(); ++i) {
    // Depth first: a part's children come right after it.
    std::vector<const MimeEntity*> children;
    for (const auto& p : out[i]->parts) children.push_back(&p);
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(i) + 1, children.begin(), children.end());
  }
  return out;
}

std::string makePart(std::string_view headerLines, std::string_view content) {
  std::string out(headerLines);
  out += "\r\n";
  out += content;
  return out;
}

std::string buildMultipart(std::string_view boundary, const std::vector<std::string>& parts) {
  const std::string b(boundary);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "--" : "\r\n--") + b + "\r\n";
    out += parts[i];
  }
  out += (parts.empty() ? "--" : "\r\n--") + b + "--\r\n";
  return out;
}

std::string appendParts(std::string_view body, std::string_view boundary,
                        const std::vector<std::string>& parts) {
  auto delimiters = findDelimiters(body, boundary);
  if (delimiters.empty() || !delimiters.back().close) return {};
  const size_t closeAt = delimiters.back().start;
  const size_t breakAt = lineBreakBefore(body, closeAt);
  std::string out(body.substr(0, breakAt));
  const std::string b(boundary);
  for (const auto& part : parts) {
    // The delimiter's own CRLF, unless the close delimiter was the body's first line (no parts).
    out += (breakAt == closeAt && &part == &parts.front() ? "--" : "\r\n--") + b + "\r\n";
    out += part;
  }
  if (breakAt == closeAt) out += "\r\n";
  out += body.substr(breakAt);
  return out;
}

std::string pidfPart(std::string_view contentId, std::string_view pidf) {
  std::string headers = "Content-Type: application/pidf+xml\r\n";
  headers += "Content-ID: <" + std::string(contentId) + ">\r\n";
  headers += "Content-Disposition: by-reference;handling=optional\r\n";
  return makePart(headers, pidf);
}

std::string buildMultipartMixed(std::string_view boundary, std::string_view sdpContentType,
                                std::string_view sdp, std::string_view contentId,
                                std::string_view pidf) {
  return buildMultipart(boundary,
                        {makePart("Content-Type: " + std::string(sdpContentType) + "\r\n", sdp),
                         pidfPart(contentId, pidf)});
}

std::string makeBoundary(uint64_t seed, std::string_view avoid) {
  // Letters, digits and '-' only: valid bchars that need no quoting in Content-Type (RFC 2045
  // section 5.1 tspecials), and "--sos-" cannot start a line of SDP (RFC 4566: "<letter>=").
  uint64_t state = seed;
  std::array<char, 48> buf{};
  do {
    std::snprintf(buf.data(), buf.size(), "sos-%016llx%016llx",
                  static_cast<unsigned long long>(splitmix64(state)),
                  static_cast<unsigned long long>(splitmix64(state)));
  } while (!avoid.empty() && avoid.find(buf.data()) != std::string_view::npos);
  return buf.data();
}

}  // namespace sos::pidf
