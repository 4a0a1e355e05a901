#pragma once
// The DeepSeek-V2/V3 ("deepseek2") part of `r1d synth`: the shapes, the tensors as
// convert_hf_to_gguf.py names and shapes them, and the deepseek2.* keys it writes, so a synthetic
// file is laid out like the published GGUFs (llama.cpp and our loader read the same keys).
#include <optional>
#include <string>
#include <vector>

#include "formats/gguf_stream_writer.h"
#include "models/synth.h"
#include "models/synth_tensors.h"

namespace r1d::models {

// deepseek-v2-lite or deepseek-v3-mini; nullopt for any other name.
std::optional<SynthShape> FindDeepseek2SynthShape(const std::string& name);
const char* Deepseek2SynthShapeNames();

// Every tensor of the model (shape.deepseek2 must be set), types left to the caller.
std::vector<SynthTensor> Deepseek2SynthTensors(const SynthShape& shape);

// The architecture keys beyond the ones every synthetic model gets (context, embedding, blocks,
// feed-forward, heads, rope base and dimension, epsilon, vocabulary size): MLA, MoE and YaRN.
void SetDeepseek2SynthKeys(const SynthShape& shape, formats::GgufStreamWriter& w);

}  // namespace r1d::models
