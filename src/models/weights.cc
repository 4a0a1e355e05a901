#include "models/weights.h"

#include "kernels/ops.h"

namespace r1d::models {
namespace {

std::string ShapeString(const formats::GgufTensorInfo& t) {
  std::string s = "{";
  for (uint32_t i = 0; i < t.n_dims; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(t.ne[i]);
  }
  return s + "}";
}

}  // namespace

Result<const formats::GgufTensorInfo*> WeightLoader::Find(const std::string& name) const {
  const formats::GgufTensorInfo* t = file_.FindTensor(name);
  if (t == nullptr) return Status::Error(file_.name() + ": missing tensor '" + name + "'");
  return t;
}

Result<kernels::WeightView> WeightLoader::Matrix(const std::string& name, int64_t n_in,
                                                 int64_t n_out) {
  R1D_ASSIGN_OR_RETURN(const formats::GgufTensorInfo* t, Find(name));
  if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != 1 || t->ne[3] != 1) {
    return Status::Error(file_.name() + ": tensor '" + name + "' has shape " + ShapeString(*t) +
                         ", expected {" + std::to_string(n_in) + ", " + std::to_string(n_out) +
                         "}");
  }
  if (kernels::GetKernels(t->type) == nullptr) {
    return Status::Error(file_.name() + ": tensor '" + name + "' has type " +
                         tensor::DTypeName(t->type) + ", which r1d cannot compute with");
  }
  kernels::WeightView w;
  w.data = t->data;
  w.type = t->type;
  w.n_in = n_in;
  w.n_out = n_out;
  return w;
}

Result<const float*> WeightLoader::Vector(const std::string& name, int64_t n) {
  R1D_ASSIGN_OR_RETURN(const formats::GgufTensorInfo* t, Find(name));
  if (t->n_elements() != n || t->ne[0] != n) {
    return Status::Error(file_.name() + ": tensor '" + name + "' has shape " + ShapeString(*t) +
                         ", expected {" + std::to_string(n) + "}");
  }
  if (t->type == tensor::DType::kF32) {
    if (reinterpret_cast<uintptr_t>(t->data) % alignof(float) != 0) {
      return Status::Error(file_.name() + ": tensor '" + name + "' is not 4-byte aligned");
    }
    return reinterpret_cast<const float*>(t->data);
  }
  const kernels::TypeKernels* k = kernels::GetKernels(t->type);
  if (k == nullptr) {
    return Status::Error(file_.name() + ": tensor '" + name + "' has type " +
                         tensor::DTypeName(t->type) + ", which r1d cannot compute with");
  }
  converted_.emplace_back(static_cast<size_t>(n));
  k->dequantize_row(t->data, converted_.back().data(), n);
  return static_cast<const float*>(converted_.back().data());
}

Result<int64_t> ReadPositiveKey(const formats::GgufFile& file, const std::string& key,
                                int64_t max) {
  R1D_ASSIGN_OR_RETURN(uint64_t v, file.GetUint(key));
  if (v == 0 || v > static_cast<uint64_t>(max)) {
    return Status::Error(file.name() + ": key '" + key + "' = " + std::to_string(v) +
                         " is out of range [1, " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(v);
}

}  // namespace r1d::models
