#include "store/model_info.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "tensor/dtype.h"

namespace r1d::store {

std::string FileTypeName(uint64_t file_type) {
  static const std::map<uint64_t, const char*> kNames = {
      {0, "F32"},      {1, "F16"},      {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},   {37, "TQ2_0"},
  };
  auto it = kNames.find(file_type);
  return it == kNames.end() ? "" : it->second;
}

ModelSummary Summarize(const formats::GgufFile& file) {
  ModelSummary s;
  s.architecture = file.GetStringOr("general.architecture", "?").ok()
                       ? *file.GetStringOr("general.architecture", "?")
                       : "?";
  auto name = file.GetStringOr("general.name", "");
  if (name.ok()) s.name = *name;
  std::map<tensor::DType, uint64_t> bytes_by_type;
  for (const auto& t : file.tensors()) {
    s.n_params += static_cast<uint64_t>(t.n_elements());
    bytes_by_type[t.type] += t.n_bytes;
  }
  auto file_type = file.GetUint("general.file_type");
  if (file_type.ok()) s.quantization = FileTypeName(*file_type);
  if (s.quantization.empty() && !bytes_by_type.empty()) {
    // No (known) file type: name the type holding most of the bytes.
    auto most = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    s.quantization = tensor::DTypeName(most->first);
    std::transform(s.quantization.begin(), s.quantization.end(), s.quantization.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  if (s.quantization.empty()) s.quantization = "?";
  return s;
}

namespace {

std::string FormatScalar(const formats::GgufValue& v) {
  using formats::GgufType;
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
      return std::to_string(v.u);
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return std::to_string(v.i);
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%g", v.f);
      return buf;
    }
    case GgufType::kBool:
      return v.b ? "true" : "false";
    case GgufType::kString:
      return v.s;
    case GgufType::kArray:
      break;
  }
  return "";
}

std::string FormatArray(const formats::GgufArray& a, size_t max_items) {
  const uint64_t n = a.size();
  if (n > max_items) {
    return "[" + std::to_string(n) + " " + formats::GgufTypeName(a.elem_type) + " values]";
  }
  std::string out = "[";
  for (uint64_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    if (!a.ints.empty()) {
      out += std::to_string(a.ints[i]);
    } else if (!a.floats.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%g", a.floats[i]);
      out += buf;
    } else if (!a.strings.empty()) {
      out += "\"" + a.strings[i] + "\"";
    } else if (!a.arrays.empty()) {
      out += FormatArray(a.arrays[i], max_items);
    }
  }
  return out + "]";
}

}  // namespace

std::string FormatGgufValue(const formats::GgufValue& value, size_t max_items) {
  std::string out = value.type == formats::GgufType::kArray ? FormatArray(value.array, max_items)
                                                            : FormatScalar(value);
  // One line per key: newlines and control bytes are shown escaped.
  std::string clean;
  for (char c : out) {
    if (c == '\n') {
      clean += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      clean += '?';
    } else {
      clean += c;
    }
  }
  return clean;
}

}  // namespace r1d::store
