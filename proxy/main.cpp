#include "proxy/app.h"

// jemalloc's options for sosproxy (read once, before the first allocation; the MALLOC_CONF
// environment variable still overrides them). A call's transactions keep about 23 KB for 32 s,
// so at a steady rate the heap keeps growing into fresh pages for the first 32 s of load; on a
// virtual machine page faults and TLB misses are dear. With transparent huge pages for
// jemalloc's memory (`thp:always`; the kernel's usual setting is `madvise`) the CPU per call
// fell by a third (bench/RESULTS.md). Unused where jemalloc is not the allocator (sanitizer
// builds).
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface
const char* malloc_conf = "thp:always";
}

int main(int argc, char** argv) { return sos::proxy::runApp(argc, argv); }
