#pragma once
// Namespace-aware helpers over a libxml2 tree, internal to pidf/ (the parser and its geodetic
// part). Elements are matched by namespace URI and local name, never by prefix.

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "pidf/pidf.h"

namespace sos::pidf::detail {

std::string_view trimmed(std::string_view s);
std::string_view str(const xmlChar* s);

// Namespace URI of an element, trimmed: RFC 4119 section 2.3's own civic example declares
// xmlns:cl=" urn:ietf:...", and devices copied it.
std::string_view nsOf(const xmlNode* n);
bool isElement(const xmlNode* n, std::string_view ns, std::string_view local);

// xs:token whitespace collapse of an element's text (XML Schema part 2, section 4.3.6).
std::string tokenText(const xmlNode* n);

// Every descendant element (not n itself) with this namespace and local name, document order.
void findAll(xmlNode* n, std::string_view ns, std::string_view local, std::vector<xmlNode*>& out);

// The value of an unqualified attribute, or "".
std::string attribute(const xmlNode* n, const char* name);

// GML shapes under a location-info element (RFC 5491 section 5; GML 3.0 forms of RFC 4119
// section 2.3) into out.latitude/longitude/radiusMeters, with notes in out.problems.
void readGeodetic(xmlNode* info, DeviceLocation& out);

}  // namespace sos::pidf::detail
