#pragma once
// Overflow-safe arithmetic for sizes and offsets read from untrusted files.
#include <cstdint>

namespace r1d {

// Each returns false on overflow and leaves *out unspecified.
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

}  // namespace r1d
