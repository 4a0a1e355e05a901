#pragma once
// Stop strings for streamed text: text that could be the start of a stop string is held back
// until it either completes one (then the output ends right before it, and the stop string itself
// is never sent) or cannot anymore (then it is released).
#include <string>
#include <string_view>
#include <vector>

namespace r1d::server {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);  // empty strings are ignored

  // Adds the next piece of output and returns what is safe to send now. Once a stop string has
  // appeared, stopped() is true, the returned text ends right before it, and later calls return
  // nothing.
  std::string Feed(std::string_view text);
  // End of output (no stop string appeared): returns what was held back.
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace r1d::server
