// Reading the PIDF-LO a phone put in its INVITE. Untrusted input from the network: lenient about
// what real devices get wrong (element order, missing usage-rules, RFC 4119's GML 3.0 and
// civicLoc forms), strict about safety (no DTD, no entities, no network, bounded size and
// depth). Whatever happens, the answer is a DeviceLocation: the call goes on without it.

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "pidf/civic_fields.h"
#include "pidf/pidf.h"
#include "pidf/xml_walk.h"

namespace sos::pidf {

namespace {

using namespace detail;

int maxDepth(const xmlNode* n, int depth) {
  int deepest = depth;
  for (const xmlNode* c = n->children; c && deepest <= kMaxPidfDepth; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) deepest = std::max(deepest, maxDepth(c, depth + 1));
  }
  return deepest;
}

// ---- civic ----

void readCivic(const xmlNode* ca, DeviceLocation& out) {
  model::CivicAddress civic;
  bool any = false;
  bool ordered = true;
  size_t lastIndex = 0;
  std::string_view ns = nsOf(ca);
  for (const xmlNode* c = ca->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || nsOf(c) != ns) continue;
    auto it = std::find_if(kCivicFields.begin(), kCivicFields.end(),
                           [&](const CivicField& f) { return f.element == str(c->name); });
    if (it == kCivicFields.end()) continue;  // RFC 6848 extensions and unknown names: skipped
    auto index = static_cast<size_t>(it - kCivicFields.begin());
    if (index < lastIndex) ordered = false;
    lastIndex = std::max(lastIndex, index);
    std::string& field = civic.*(it->member);
    if (!field.empty()) continue;  // a repeated element: the first one stands
    field = tokenText(c);
    any = any || !field.empty();
  }
  if (!ordered) out.problems.push_back("civic elements out of schema order; tolerated");
  if (ns == kNsCivicLoc) out.problems.push_back("RFC 4119 civicLoc namespace; tolerated");
  if (!civic.country.empty()) {
    std::transform(civic.country.begin(), civic.country.end(), civic.country.begin(),
                   [](char ch) { return ch >= 'a' && ch <= 'z' ? char(ch - 'a' + 'A') : ch; });
  }
  if (any && !out.civic) out.civic = std::move(civic);
}

bool civicUsable(const model::CivicAddress& c) {
  if (c.country.empty()) return false;
  model::CivicAddress rest = c;
  rest.country.clear();
  return !(rest == model::CivicAddress{});
}

// ---- one <geopriv> ----

DeviceLocation readGeopriv(xmlNode* geopriv) {
  DeviceLocation out;
  xmlNode* info = nullptr;
  xmlNode* rules = nullptr;
  xmlNode* method = nullptr;
  bool ordered = true;
  int lastRank = 0;
  for (xmlNode* c = geopriv->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    std::string_view name = str(c->name);
    // RFC 4119 section 2.2's sequence: location-info, usage-rules, method, provided-by.
    int rank = 0;
    if (name == "location-info" && nsOf(c) == kNsGeopriv) {
      rank = 1;
      if (!info) info = c;
    } else if (name == "usage-rules" && nsOf(c) == kNsGeopriv) {
      rank = 2;
      if (!rules) rules = c;
    } else if (name == "method" && nsOf(c) == kNsGeopriv) {
      rank = 3;
      if (!method) method = c;
    }
    if (rank != 0 && rank < lastRank) ordered = false;
    lastRank = std::max(lastRank, rank);
  }
  if (!ordered) out.problems.push_back("geopriv elements out of order; tolerated");
  if (!info) {
    out.problems.push_back("no location-info");
    return out;
  }

  std::vector<xmlNode*> civics;
  findAll(info, kNsCivicAddr, "civicAddress", civics);
  findAll(info, kNsCivicLoc, "civicAddress", civics);
  for (const xmlNode* ca : civics) readCivic(ca, out);
  if (civics.size() > 1) out.problems.push_back("several civic addresses; used the first");

  readGeodetic(info, out);

  if (rules) {
    for (const xmlNode* c = rules->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || str(c->name) != "retransmission-allowed") continue;
      // basicPolicy per the schema; RFC 4119 section 2.3's examples put it in geopriv10 and
      // write yes/no instead of xs:boolean.
      if (nsOf(c) != kNsBasicPolicy && nsOf(c) != kNsGeopriv) continue;
      std::string v = tokenText(c);
      std::transform(v.begin(), v.end(), v.begin(),
                     [](char ch) { return ch >= 'A' && ch <= 'Z' ? char(ch - 'A' + 'a') : ch; });
      if (v == "true" || v == "1" || v == "yes") out.retransmissionAllowed = true;
      if (v == "false" || v == "0" || v == "no") out.retransmissionAllowed = false;
      break;
    }
  } else {
    out.problems.push_back("usage-rules missing; tolerated");
  }
  if (method) out.method = tokenText(method);

  bool geodetic = out.latitude && out.longitude;
  out.usable = geodetic || (out.civic && civicUsable(*out.civic));
  if (!out.usable) {
    out.problems.push_back(out.civic ? "civic address lacks country or any other field"
                                     : "no civic address or coordinates");
  }
  return out;
}

// RFC 5491 rule #8: the first dm:device with a location wins, then the first tuple; dm:person
// only as a last resort.
int precedence(const xmlNode* geopriv) {
  for (const xmlNode* a = geopriv->parent; a && a->type == XML_ELEMENT_NODE; a = a->parent) {
    if (isElement(a, kNsDataModel, "device")) return 0;
    if (isElement(a, kNsPidf, "tuple")) return 1;
    if (isElement(a, kNsDataModel, "person")) return 2;
  }
  return 3;
}

// ---- libxml2 safety ----

struct ParseFlags {
  bool sawDtd = false;
};

// A document type declaration is refused as soon as the parser meets it, before any entity
// declaration is read: that shuts out "billion laughs" expansion and external entities (XXE)
// whatever the libxml2 defaults are. PIDF-LO never needs a DTD (RFC 4119 uses XML Schema).
void onDoctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  static_cast<ParseFlags*>(ctxt->_private)->sawDtd = true;
  xmlStopParser(ctxt);
}

void ignoreError(void*, xmlErrorPtr) {}

DeviceLocation unusable(std::string why) {
  DeviceLocation out;
  out.problems.push_back(std::move(why));
  return out;
}

DeviceLocation interpret(xmlDoc* doc) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (!root) return unusable("not well-formed: no root element");
  if (maxDepth(root, 1) > kMaxPidfDepth) return unusable("too deep");
  // Another document sent as application/pidf+xml (a HELD locationResponse, say) is not what a
  // PSAP's PIDF-LO reader takes, whatever it holds: ours goes beside it.
  if (!isElement(root, kNsPidf, "presence")) return unusable("root is not a PIDF presence");
  std::vector<std::string> notes;

  std::vector<xmlNode*> geoprivs;
  if (isElement(root, kNsGeopriv, "geopriv")) geoprivs.push_back(root);
  findAll(root, kNsGeopriv, "geopriv", geoprivs);
  if (geoprivs.empty()) {
    DeviceLocation out = unusable("no geopriv");
    out.problems.insert(out.problems.begin(), notes.begin(), notes.end());
    return out;
  }
  std::stable_sort(geoprivs.begin(), geoprivs.end(), [](const xmlNode* a, const xmlNode* b) {
    return precedence(a) < precedence(b);
  });

  DeviceLocation first;
  bool haveFirst = false;
  for (xmlNode* g : geoprivs) {
    DeviceLocation candidate = readGeopriv(g);
    if (candidate.usable) {
      candidate.problems.insert(candidate.problems.begin(), notes.begin(), notes.end());
      if (geoprivs.size() > 1) {
        candidate.problems.push_back("several location objects; RFC 5491 rule #8 applied");
      }
      return candidate;
    }
    if (!haveFirst) {
      first = std::move(candidate);
      haveFirst = true;
    }
  }
  first.problems.insert(first.problems.begin(), notes.begin(), notes.end());
  return first;
}

}  // namespace

DeviceLocation parsePidfLo(std::string_view xml) {
  try {
    if (xml.size() > kMaxPidfBytes) return unusable("body too large");
    if (trimmed(xml).empty()) return unusable("empty body");

    // xmlInitParser is not thread-safe the first time; afterwards parsing is.
    static std::once_flag initOnce;
    std::call_once(initOnce, [] { xmlInitParser(); });

    std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctxt(xmlNewParserCtxt(),
                                                                    xmlFreeParserCtxt);
    if (!ctxt) return unusable("parser unavailable");
    ParseFlags flags;
    ctxt->_private = &flags;
    ctxt->sax->internalSubset = onDoctype;
    ctxt->sax->externalSubset = onDoctype;
    ctxt->sax->serror = ignoreError;
    // No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_DTDLOAD/DTDATTR/DTDVALID (nothing
    // is fetched), XML_PARSE_NONET (belt and braces), no XML_PARSE_HUGE (libxml2's own limits
    // stay on). NOERROR/NOWARNING: a hostile body must not fill our log through stderr.
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc(
        xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                          options),
        xmlFreeDoc);
    if (flags.sawDtd || (doc && (doc->intSubset || doc->extSubset))) {
      return unusable("DTD not allowed");
    }
    if (!doc || ctxt->wellFormed == 0) return unusable("not well-formed");
    return interpret(doc.get());
  } catch (...) {
    // std::bad_alloc from a string: the call goes on without the device's location.
    return unusable("internal error while parsing");
  }
}

}  // namespace sos::pidf
