#include "core/status.h"

namespace r1d {

void CheckFailed(const char* file, int line, const char* expr, const char* message) {
  std::fprintf(stderr, "r1d: internal error: CHECK(%s) failed at %s:%d %s\n", expr, file, line,
               message);
  std::abort();
}

}  // namespace r1d
