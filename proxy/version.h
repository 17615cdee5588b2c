#pragma once
// What this binary is: the CMake project version and the commit it was built from (read when
// CMake configured the build; "unknown" without git). Any thread.

namespace sos::proxy {

const char* buildVersion();  // "0.1.0"
const char* buildCommit();   // "63054fa1b2c3", "63054fa1b2c3+dirty" or "unknown"

}  // namespace sos::proxy
