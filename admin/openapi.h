#pragma once
// The OpenAPI 3 document of the admin API (admin/openapi.json, compiled in at build time),
// served at GET /api/v1/openapi.json. Its paths are AdminRoutes::kRouteTable's.

#include <string_view>

namespace sos::admin {

extern const std::string_view kOpenApiJson;

}  // namespace sos::admin
