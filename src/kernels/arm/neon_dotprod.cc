// NEON kernels with the dot-product extension (SDOT, FEAT_DotProd: Cortex-A55/A76 and later,
// Neoverse, Apple M1 and later): the block-type dot products of neon-inl.h, each function built
// for armv8.2-a+dotprod through a target attribute, so this file compiles for the baseline ISA
// and dispatch.cc calls into it only where neondot::Usable().
#include "kernels/impl.h"

#if defined(__aarch64__) && !defined(__ARM_BIG_ENDIAN)

#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#define HEARTH_NEON_NS neondot
#define HEARTH_NEON_FN __attribute__((target("arch=armv8.2-a+dotprod")))
#define HEARTH_NEON_DOTPROD 1
#include "kernels/arm/neon-inl.h"

namespace hearth::kernels::neondot {

bool Usable() {
#if defined(__linux__)
  static const bool usable = neon::Usable() && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return usable;
#elif defined(__ARM_FEATURE_DOTPROD)
  return true;  // the whole build targets a CPU with the extension
#else
  return false;  // no portable run-time query: the plain NEON kernels
#endif
}

}  // namespace hearth::kernels::neondot

#else  // not little-endian AArch64

namespace hearth::kernels::neondot {
bool Usable() { return false; }
VecDotFn VecDot(gguf::TensorType) { return nullptr; }
VecDot4Fn VecDot4(gguf::TensorType) { return nullptr; }
}  // namespace hearth::kernels::neondot

#endif
