# Toolchain file: 64-bit ARM Linux with Debian's cross compiler (g++-aarch64-linux-gnu), whose
# packages install the target's C and C++ libraries under /usr/aarch64-linux-gnu. Executables run
# under qemu-user where it is installed (CMAKE_CROSSCOMPILING_EMULATOR: add_test and try_run use
# it). Used by tests/kernels/arm/ (the kernels and their tests only: the rest of hearth needs
# libraries that are not installed for arm64 here).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(HEARTH_AARCH64_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Headers and libraries only from the target tree; programs (ninja, qemu) from the host.
set(CMAKE_FIND_ROOT_PATH ${HEARTH_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(HEARTH_QEMU_AARCH64 qemu-aarch64)
if(HEARTH_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HEARTH_QEMU_AARCH64} -L ${HEARTH_AARCH64_SYSROOT})
endif()
