#include "models/model.h"

#include "models/llama.h"

namespace r1d::models {

Result<std::unique_ptr<Model>> LoadModel(std::unique_ptr<formats::GgufFile> file) {
  R1D_ASSIGN_OR_RETURN(std::string arch, file->GetString("general.architecture"));
  if (arch == "llama" || arch == "qwen2") return LoadLlamaFamily(std::move(file));
  return Status::Error(file->name() + ": architecture '" + arch +
                       "' is not supported (supported: llama, qwen2)");
}

Result<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  R1D_ASSIGN_OR_RETURN(auto file, formats::GgufFile::Open(path));
  return LoadModel(std::move(file));
}

}  // namespace r1d::models
