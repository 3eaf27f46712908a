// CHECK (always on) and DCHECK (debug builds): for bugs, never for bad input.
//   CHECK(n > 0) << "n=" << n;
// A failed check prints file:line, the condition and the streamed message, then aborts.
#pragma once

#include <sstream>

namespace hearth::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  std::ostringstream os_;
};

// Lets `CHECK(x) << ...` be an expression of type void in both branches of ?:.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace hearth::internal

#define CHECK(cond)                 \
  (cond) ? (void)0                  \
         : ::hearth::internal::Voidify() & \
               ::hearth::internal::CheckFailure(__FILE__, __LINE__, #cond)

#ifdef NDEBUG
#define DCHECK(cond) \
  while (false) CHECK(cond)
#else
#define DCHECK(cond) CHECK(cond)
#endif
