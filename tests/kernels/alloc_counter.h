// Test-only: the number of operator new calls so far in this binary (alloc_counter.cc replaces
// the global operator new/delete with counting versions over malloc/free).
#pragma once

#include <cstdint>

namespace hearth::kernels::testing {
int64_t AllocationCount();
}  // namespace hearth::kernels::testing
