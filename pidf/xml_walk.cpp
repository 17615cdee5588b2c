#include "pidf/xml_walk.h"

namespace sos::pidf::detail {

namespace {

// CDATA is merged into text nodes by XML_PARSE_NOCDATA; depth is bounded before any walk.
void collectText(const xmlNode* n, std::string& out) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_TEXT_NODE && c->content) out += str(c->content);
    if (c->type == XML_ELEMENT_NODE) collectText(c, out);
  }
}

}  // namespace

std::string_view trimmed(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string_view str(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

std::string_view nsOf(const xmlNode* n) { return n->ns ? trimmed(str(n->ns->href)) : ""; }

bool isElement(const xmlNode* n, std::string_view ns, std::string_view local) {
  return n && n->type == XML_ELEMENT_NODE && nsOf(n) == ns && str(n->name) == local;
}

std::string tokenText(const xmlNode* n) {
  std::string raw;
  collectText(n, raw);
  std::string out;
  bool space = false;
  for (char c : raw) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

void findAll(xmlNode* n, std::string_view ns, std::string_view local, std::vector<xmlNode*>& out) {
  for (xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (isElement(c, ns, local)) out.push_back(c);
    findAll(c, ns, local, out);
  }
}

std::string attribute(const xmlNode* n, const char* name) {
  for (const xmlAttr* a = n->properties; a; a = a->next) {
    if (str(a->name) != name || a->ns) continue;
    std::string v;
    for (const xmlNode* t = a->children; t; t = t->next) {
      if (t->type == XML_TEXT_NODE && t->content) v += str(t->content);
    }
    return v;
  }
  return {};
}

}  // namespace sos::pidf::detail
