#pragma once
// API key check: `Authorization: Bearer KEY`, compared in constant time.
#include <string>
#include <string_view>

namespace r1d::server {

// True when a and b are equal; the time taken depends only on the lengths, not on where they
// first differ, so the key cannot be guessed byte by byte from response times.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// True when `authorization` (the header's value) carries `api_key`; always true when api_key is
// empty (no key configured).
bool Authorized(std::string_view authorization, const std::string& api_key);

// Paths anyone may call without a key (liveness and readiness probes).
bool IsPublicPath(std::string_view path);

}  // namespace r1d::server
