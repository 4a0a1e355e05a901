#pragma once
// What `list` and `show` print about a GGUF file, read from its header.
#include <cstdint>
#include <string>

#include "core/status.h"
#include "formats/gguf_reader.h"

namespace r1d::store {

struct ModelSummary {
  std::string architecture;  // general.architecture, "?" when absent
  std::string name;          // general.name, "" when absent
  std::string quantization;  // from general.file_type, else the dominant tensor type
  uint64_t n_params = 0;     // elements over all tensors of this file
};

ModelSummary Summarize(const formats::GgufFile& file);

// llama.cpp's file type numbers (general.file_type) -> "Q4_K_M"; "" when unknown.
std::string FileTypeName(uint64_t file_type);

// A metadata value on one line; arrays longer than `max_items` are summarised.
std::string FormatGgufValue(const formats::GgufValue& value, size_t max_items = 8);

}  // namespace r1d::store
