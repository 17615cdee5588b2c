#include "proxy/sdp_shield.h"

#include <cctype>
#include <optional>

#include "pidf/multipart.h"

namespace sos::proxy {

namespace {

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size() && out.size() < 64) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool digits(std::string_view s, size_t max = 20) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// RFC 4566 token characters (the SDP grammar's token-char, which is RFC 2616's).
bool token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`{|}~").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

bool addressType(std::string_view s) { return s == "IP4" || s == "IP6"; }

// A unicast or multicast address, or a host name: what c= and o= carry. Never resolved.
bool address(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '.' && c != ':' && c != '-' && c != '/' && c != '%') return false;
  return true;
}

// Why an m= line's fields are not <media> <port> <proto> <fmt> ..., or nullopt when they are.
std::optional<std::string> mediaProblem(const std::vector<std::string_view>& f) {
  // proto is tokens joined by '/' (RTP/AVP, UDP/TLS/RTP/SAVPF).
  bool proto =
      !f.empty() && f.size() >= 3 && !f[2].empty() && f[2].front() != '/' && f[2].back() != '/';
  for (size_t i = 0, j = 0; proto && i <= f[2].size(); ++i) {
    if (i == f[2].size() || f[2][i] == '/') {
      proto = token(f[2].substr(j, i - j));
      j = i + 1;
    }
  }
  if (f.size() < 4 || !token(f[0]) || !proto) return "media not <media> <port> <proto> <fmt>";
  std::string_view port = f[1].substr(0, f[1].find('/'));
  if (!digits(port, 5) || std::stoul(std::string(port)) > 65535) return "media port not a port";
  if (f[1].find('/') != std::string_view::npos && !digits(f[1].substr(f[1].find('/') + 1)))
    return "media port count not a number";
  for (size_t i = 3; i < f.size(); ++i)
    if (!token(f[i])) return "media format not a token";
  return std::nullopt;
}

// Why an a= line's value is not <name> or <name>:<value>, or nullopt when it is. The values of
// rtpmap, fmtp, ptime and maxptime are checked; the others are passed on as they are.
std::optional<std::string> attributeProblem(std::string_view v) {
  size_t colon = v.find(':');
  std::string_view name = v.substr(0, colon);
  if (!token(name)) return "attribute name not a token";
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view value = v.substr(colon + 1);
  if (name == "rtpmap") {
    auto r = fields(value);
    size_t slash = r.size() == 2 ? r[1].find('/') : std::string_view::npos;
    if (r.size() != 2 || !digits(r[0], 3) || slash == std::string_view::npos ||
        !token(r[1].substr(0, slash)) ||
        !digits(r[1].substr(slash + 1, r[1].find('/', slash + 1) - slash - 1)))
      return "rtpmap not <payload type> <encoding>/<clock rate>";
  } else if (name == "fmtp") {
    auto r = fields(value);
    if (r.size() < 2 || !token(r[0])) return "fmtp not <format> <parameters>";
  } else if (name == "ptime" || name == "maxptime") {
    if (!digits(value.substr(0, value.find('.')), 6))
      return name == "ptime" ? "ptime not a number" : "maxptime not a number";
  }
  return std::nullopt;
}

// Why the value of a `type=` line is not well-formed, or nullopt when it is.
std::optional<std::string> problem(char type, std::string_view v) {
  auto f = fields(v);
  switch (type) {
    case 'v':
      return v == "0" ? std::nullopt : std::optional<std::string>("version is not 0");
    case 'o':
      if (f.size() != 6 || !digits(f[1]) || !digits(f[2]) || f[3] != "IN" || !addressType(f[4]) ||
          !address(f[5]))
        return "origin not <user> <id> <version> IN IP4|IP6 <address>";
      return std::nullopt;
    case 'c':
      if (f.size() != 3 || f[0] != "IN" || !addressType(f[1]) || !address(f[2]))
        return "connection not IN IP4|IP6 <address>";
      return std::nullopt;
    case 'b': {
      size_t colon = v.find(':');
      if (colon == std::string_view::npos || !token(v.substr(0, colon)) ||
          !digits(v.substr(colon + 1)))
        return "bandwidth not <type>:<kbps>";
      return std::nullopt;
    }
    case 't':
      if (f.size() != 2 || !digits(f[0]) || !digits(f[1])) return "timing not <start> <stop>";
      return std::nullopt;
    case 'm':
      return mediaProblem(f);
    case 'a':
      return attributeProblem(v);
    case 's':
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'r':
    case 'z':
    case 'k':
      return v.empty() ? std::optional<std::string>("empty value") : std::nullopt;
    default:
      return "not an SDP line type";
  }
}

// Control characters other than tab have no place in a session description (RFC 4566 5: text
// is any byte but NUL, CR and LF; the others only ever come from broken or hostile senders).
bool clean(std::string_view line) {
  for (unsigned char c : line)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

std::string shown(std::string_view line) {
  std::string out;
  for (unsigned char c : line.substr(0, 60)) out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  return out;
}

// The line that starts at `at`, without its line end; `at` moves to the next one.
std::string_view nextLine(std::string_view input, size_t& at) {
  size_t eol = input.find('\n', at);
  std::string_view line =
      input.substr(at, (eol == std::string_view::npos ? input.size() : eol) - at);
  at = eol == std::string_view::npos ? input.size() : eol + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Is an empty line, read up to `at`, one to note as left out? Every one is, but the very last
// when the input ends with CRLF.
bool blankLineCounts(std::string_view input, size_t at) {
  if (at < input.size()) return true;  // a blank line that is not the very last
  return input.size() >= 2 && input.substr(input.size() - 2) != "\r\n";
}

// A session description as it is read, line by line.
struct Reading {
  std::vector<std::string_view> kept;
  std::vector<std::pair<size_t, std::string>> inserts;  // (before kept index, line)
  // The lines seen so far that decide where the next may stand.
  bool version = false, origin = false, name = false, timing = false, media = false;
  // What a minimal offer would need, should the whole not come together.
  std::string_view connection, connectionType, audioPort;
  bool emptyLines = false;
};

// Why a line is left out whatever its place: over the limits, not <type>=<value>, or not
// well-formed for its type. Nullopt when it is well-formed.
std::optional<std::string> lineProblem(std::string_view line, size_t keptLines) {
  if (keptLines >= kMaxSdpLines) return "more than " + std::to_string(kMaxSdpLines) + " lines";
  if (line.size() > kMaxSdpLine) return "longer than " + std::to_string(kMaxSdpLine) + " bytes";
  if (line.size() < 2 || line[1] != '=' || !clean(line)) return "not <type>=<value>";
  return problem(line[0], line.substr(2));
}

// The first connection address and audio port, for a minimal offer. `value` is well-formed.
void noteOfferParts(char type, std::string_view value, Reading& r) {
  if (type == 'c' && r.connection.empty()) {
    auto f = fields(value);
    r.connectionType = f[1];
    r.connection = f[2];
  }
  if (type == 'm' && r.audioPort.empty()) {
    auto f = fields(value);
    if (f[0] == "audio") r.audioPort = f[1].substr(0, f[1].find('/'));
  }
}

// Where each line may stand (RFC 4566 5): v= first, then o=, s=; t= before the media. Notes in
// `r` what the line brings and returns nullopt when it may stand here, else why not; a required
// s= or t= that is missing is added before it.
std::optional<std::string> misplaced(char type, Reading& r) {
  if (!r.version) {
    if (type != 'v') return "before v=0";
    r.version = true;
  } else if (type == 'v') {
    return "a second v=";
  } else if (!r.origin) {
    if (type != 'o') return "before o=";
    r.origin = true;
  } else if (type == 'o') {
    return "a second o=";
  } else if (type == 's') {
    if (r.name || r.media) return "a second s=";
    r.name = true;
  } else if (!r.name) {
    r.inserts.emplace_back(r.kept.size(), "s=-");  // RFC 4566 5.3: "s=-" when there is none
    r.name = true;
  }
  if (type == 't') {
    if (r.media) return "t= after a media line";
    r.timing = true;
  }
  if (type == 'm') {
    if (!r.timing) {
      r.inserts.emplace_back(r.kept.size(), "t=0 0");
      r.timing = true;
    }
    r.media = true;
  }
  return std::nullopt;
}

// Keeps a line, or says why it is left out.
std::optional<std::string> takeLine(std::string_view line, Reading& r) {
  if (auto why = lineProblem(line, r.kept.size())) return why;
  const char type = line[0];
  noteOfferParts(type, line.substr(2), r);
  if (auto why = misplaced(type, r)) return why;
  r.kept.push_back(line);
  return std::nullopt;
}

// A description that cannot be made whole: a minimal audio offer from its connection address
// and audio port, or none.
void replaceWhole(const Reading& r, ShieldedSdp& out) {
  if (!r.connection.empty() && !r.audioPort.empty() && r.audioPort != "0") {
    const std::string ip = std::string(r.connectionType) + " " + std::string(r.connection);
    out.kind = ShieldedSdp::Kind::Minimal;
    out.sdp = "v=0\r\no=- 0 0 IN " + ip + "\r\ns=-\r\nc=IN " + ip + "\r\nt=0 0\r\nm=audio " +
              std::string(r.audioPort) +
              " RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
              "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";
  } else {
    out.kind = ShieldedSdp::Kind::None;
  }
  out.dropped.push_back(!r.version ? "no v=0 line" : (!r.origin ? "no o= line" : "no media line"));
}

// The kept lines with the added ones in their places, each ended with CRLF.
std::string assemble(const Reading& r) {
  std::string sdp;
  size_t next = 0;
  for (size_t i = 0; i <= r.kept.size(); ++i) {
    while (next < r.inserts.size() && r.inserts[next].first == i) {
      sdp += r.inserts[next++].second;
      sdp += "\r\n";
    }
    if (i < r.kept.size()) {
      sdp.append(r.kept[i]);
      sdp += "\r\n";
    }
  }
  return sdp;
}

}  // namespace

ShieldedSdp shieldSdp(std::string_view sdp) {
  ShieldedSdp out;
  std::string_view input = sdp.substr(0, kMaxSdpBytes);
  if (sdp.size() > kMaxSdpBytes)
    out.dropped.push_back("beyond " + std::to_string(kMaxSdpBytes) + " bytes: left out");
  Reading r;
  size_t at = 0;
  size_t number = 0;
  while (at < input.size()) {
    std::string_view line = nextLine(input, at);
    ++number;
    if (line.empty()) {
      if (blankLineCounts(input, at)) r.emptyLines = true;
      continue;
    }
    if (auto why = takeLine(line, r)) {
      out.dropped.push_back("line " + std::to_string(number) + ": " + shown(line) + " (" + *why +
                            ")");
    }
  }

  if (!r.version || !r.origin || !r.media) {
    replaceWhole(r, out);
    return out;
  }
  out.sdp = assemble(r);
  for (const auto& [before, line] : r.inserts) out.dropped.push_back(line + " added (required)");
  out.kind = out.sdp == sdp ? ShieldedSdp::Kind::Unchanged : ShieldedSdp::Kind::Cleaned;
  if (out.kind == ShieldedSdp::Kind::Cleaned && r.emptyLines)
    out.dropped.push_back("empty lines left out");
  if (out.kind == ShieldedSdp::Kind::Cleaned && out.dropped.empty())
    out.dropped.push_back("line ends made CRLF");
  return out;
}

namespace {

const char* kindName(ShieldedSdp::Kind k) {
  switch (k) {
    case ShieldedSdp::Kind::Cleaned:
      return "cleaned";
    case ShieldedSdp::Kind::Minimal:
      return "replaced by a minimal offer";
    case ShieldedSdp::Kind::None:
      return "left out (nothing usable)";
    default:
      return "unchanged";
  }
}

void note(ShieldedBody& out, const std::string& where, const ShieldedSdp& s) {
  std::string n = where + " " + kindName(s.kind);
  for (size_t i = 0; i < s.dropped.size() && i < 8; ++i) n += (i ? "; " : ": ") + s.dropped[i];
  if (s.dropped.size() > 8) n += "; and " + std::to_string(s.dropped.size() - 8) + " more";
  out.notes.push_back(std::move(n));
}

}  // namespace

ShieldedBody shieldBody(std::string_view contentType, std::string_view body) {
  ShieldedBody out;
  const std::string type = pidf::mediaType(contentType);
  if (type == "application/sdp") {
    ShieldedSdp s = shieldSdp(body);
    if (s.kind == ShieldedSdp::Kind::Unchanged) {
      out.sdp = std::string(body);
      return out;
    }
    out.changed = true;
    note(out, "SDP", s);
    out.sdp = s.sdp;
    if (s.kind != ShieldedSdp::Kind::None) {
      out.contentType = std::string(contentType);
      out.body = std::move(s.sdp);
    }
    return out;
  }
  if (type != "multipart/mixed") return out;
  const pidf::MimeEntity root = pidf::parseBody(contentType, body);
  if (!root.wellFormed) return out;  // rebuilt later, if at all; its SDP parts go as they are
  std::string rebuilt(body);
  std::vector<std::string> parts;  // for a rebuild when a part has to go
  bool removed = false;
  size_t from = 0;
  for (size_t i = 0; i < root.parts.size(); ++i) {
    const pidf::MimeEntity& p = root.parts[i];
    const size_t at = rebuilt.find(p.raw, from);
    const bool plain = p.transferEncoding.empty() || p.transferEncoding == "7bit" ||
                       p.transferEncoding == "8bit" || p.transferEncoding == "binary";
    if (p.contentType != "application/sdp" || !plain || at == std::string::npos) {
      parts.push_back(p.raw);
      if (at != std::string::npos) from = at + p.raw.size();
      continue;
    }
    ShieldedSdp s = shieldSdp(p.content);
    const std::string headers = p.raw.substr(0, p.raw.size() - p.content.size());
    if (out.sdp.empty()) out.sdp = s.kind == ShieldedSdp::Kind::Unchanged ? p.content : s.sdp;
    if (s.kind == ShieldedSdp::Kind::Unchanged) {
      parts.push_back(p.raw);
      from = at + p.raw.size();
      continue;
    }
    out.changed = true;
    note(out, "SDP part " + std::to_string(i + 1), s);
    if (s.kind == ShieldedSdp::Kind::None) {
      removed = true;
      from = at + p.raw.size();
      continue;
    }
    const std::string part = headers + s.sdp;
    parts.push_back(part);
    rebuilt.replace(at, p.raw.size(), part);
    from = at + part.size();
  }
  if (!out.changed) return out;
  out.contentType = std::string(contentType);
  if (!removed) {
    out.body = std::move(rebuilt);
  } else if (!parts.empty()) {
    out.body = pidf::buildMultipart(root.boundary, parts);
  } else {
    out.contentType.clear();
  }
  return out;
}

}  // namespace sos::proxy
