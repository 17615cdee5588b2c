// The self-service page's files (web_files.h).

#include "admin/web_files.h"

#include <algorithm>

namespace sos::admin {

const WebFile* findWebFile(std::string_view path) {
  auto it = std::find_if(kWebFiles.begin(), kWebFiles.end(),
                         [&](const WebFile& f) { return f.path == path; });
  return it == kWebFiles.end() ? nullptr : &*it;
}

HttpResponse webFileResponse(const WebFile& file) {
  HttpResponse out{200, std::string(file.contentType), std::string(file.body), {}};
  out.headers = {{"Cache-Control", "no-store"},
                 {"Content-Security-Policy",
                  "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'none'; "
                  "frame-ancestors 'none'"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"}};
  return out;
}

}  // namespace sos::admin
