#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>

#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Texts of tokens that end a turn, in the order they are preferred as the EOT token.
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // DeepSeek
};
// Texts of tokens that end generation in every model that has them.
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",   "<|endoftext|>",
    "<|eom_id|>", "<EOT>",      "_<EOT>",  "<|end_of_text|>",
};

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string ToLowerAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "<0x4A>" -> 0x4A, or -1.
int ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = text[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

std::string MakePiece(TokenizerKind kind, const TokenInfo& token) {
  switch (token.type) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUserDefined:
      return token.text;
    case TokenType::kNormal:
      if (kind == TokenizerKind::kBpe) return ByteLevelDecode(token.text);
      return ReplaceAll(token.text, kSpmSpace, " ");
    case TokenType::kByte:
      if (kind != TokenizerKind::kBpe) {
        const int byte = ParseByteToken(token.text);
        if (byte >= 0) return std::string(1, static_cast<char>(byte));
      }
      return "";
    default:
      return "";  // unused / undefined tokens stand for no text
  }
}

}  // namespace

Result<TokenizerKind> ParseTokenizerModel(std::string_view model) {
  if (model == "gpt2") return TokenizerKind::kBpe;
  if (model == "llama") return TokenizerKind::kSpm;
  if (model == "bert") return TokenizerKind::kWpm;
  if (model == "no_vocab" || model == "none") {
    return Status::Error("the model has no vocabulary (tokenizer.ggml.model = '" +
                         std::string(model) + "')");
  }
  return Status::Error("unsupported tokenizer.ggml.model '" + std::string(model) +
                       "' (supported: gpt2, llama, bert)");
}

Result<std::unique_ptr<Vocab>> BuildVocab(const VocabSpec& spec, bool bpe_add_bos) {
  R1D_ASSIGN_OR_RETURN(TokenizerKind kind, ParseTokenizerModel(spec.model));
  const size_t n = spec.tokens.size();
  if (n == 0) return Status::Error("tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(INT32_MAX)) return Status::Error("tokenizer.ggml.tokens too long");
  if (!spec.scores.empty() && spec.scores.size() != n) {
    return Status::Error("tokenizer.ggml.scores has " + std::to_string(spec.scores.size()) +
                         " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  if (!spec.token_types.empty() && spec.token_types.size() != n) {
    return Status::Error("tokenizer.ggml.token_type has " +
                         std::to_string(spec.token_types.size()) +
                         " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }

  auto vocab = std::make_unique<Vocab>();
  Vocab& v = *vocab;
  v.kind = kind;
  v.pre = spec.pre.empty() ? "default" : spec.pre;
  v.tokens.resize(n);
  for (size_t i = 0; i < n; ++i) {
    TokenInfo& t = v.tokens[i];
    t.text = spec.tokens[i];
    if (!spec.scores.empty()) t.score = spec.scores[i];
    if (!spec.token_types.empty()) {
      const int32_t type = spec.token_types[i];
      t.type = (type >= 0 && type <= 6) ? static_cast<TokenType>(type) : TokenType::kUndefined;
    }
    v.max_token_len = std::max(v.max_token_len, t.text.size());
  }
  v.text_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!v.tokens[i].text.empty()) v.text_to_id[v.tokens[i].text] = static_cast<int32_t>(i);
  }

  // Defaults of llama.cpp for each kind (ids that do not exist in a small vocabulary are dropped).
  switch (kind) {
    case TokenizerKind::kBpe:
      v.bos = v.eos = 11;
      v.add_bos = bpe_add_bos;
      break;
    case TokenizerKind::kSpm:
      v.bos = 1;
      v.eos = 2;
      v.unk = 0;
      v.add_bos = true;
      v.add_space_prefix = true;
      break;
    case TokenizerKind::kWpm:
      v.bos = 101;
      v.unk = 100;
      v.sep = 102;
      v.pad = 0;
      v.mask = 103;
      v.add_bos = true;
      break;
  }
  for (int32_t* id : {&v.bos, &v.eos, &v.unk, &v.sep, &v.pad, &v.mask}) {
    if (*id >= v.n_tokens()) *id = kNoToken;
  }

  // Ids the tokenizer emits or stops on must exist; the others are only informative and, like
  // llama.cpp, an out-of-range value there is ignored.
  struct IdKey {
    const char* key;
    const std::optional<int32_t>& value;
    int32_t* target;
    bool required_in_range;
  };
  const IdKey id_keys[] = {
      {"bos_token_id", spec.bos_id, &v.bos, true},
      {"eos_token_id", spec.eos_id, &v.eos, true},
      {"eot_token_id", spec.eot_id, &v.eot, true},
      {"eom_token_id", spec.eom_id, &v.eom, true},
      {"unknown_token_id", spec.unk_id, &v.unk, true},
      {"seperator_token_id", spec.sep_id, &v.sep, false},
      {"padding_token_id", spec.pad_id, &v.pad, false},
      {"mask_token_id", spec.mask_id, &v.mask, false},
  };
  for (const IdKey& k : id_keys) {
    if (!k.value.has_value()) continue;
    const int32_t id = *k.value;
    if (id == kNoToken) {
      *k.target = kNoToken;
    } else if (id >= 0 && id < v.n_tokens()) {
      *k.target = id;
    } else if (k.required_in_range) {
      return Status::Error("tokenizer.ggml." + std::string(k.key) + " = " + std::to_string(id) +
                           " is out of range (the vocabulary has " + std::to_string(n) +
                           " tokens)");
    }
  }
  if (spec.add_bos.has_value()) v.add_bos = *spec.add_bos;
  if (spec.add_eos.has_value()) v.add_eos = *spec.add_eos;
  if (spec.add_space_prefix.has_value()) v.add_space_prefix = *spec.add_space_prefix;

  // Turn-ending tokens are recognised by their text (GGUF files rarely name them), and count as
  // control tokens whatever their stored type, as in llama.cpp.
  if (v.eot == kNoToken) {
    for (std::string_view text : kEotTexts) {
      const int32_t id = v.Find(text);
      if (id != kNoToken) {
        v.eot = id;
        break;
      }
    }
  }
  if (v.eom == kNoToken) v.eom = v.Find("<|eom_id|>");
  std::vector<int32_t> eog;
  for (std::string_view text : kEogTexts) {
    const int32_t id = v.Find(text);
    if (id != kNoToken) eog.push_back(id);
  }
  if (v.eot != kNoToken) eog.push_back(v.eot);
  for (int32_t id : eog) v.tokens[id].type = TokenType::kControl;
  if (v.eom != kNoToken) eog.push_back(v.eom);
  if (v.eos != kNoToken) eog.push_back(v.eos);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  v.end_of_generation = std::move(eog);

  for (int32_t id = 0; id < v.n_tokens(); ++id) {
    const TokenType t = v.tokens[id].type;
    if (!v.tokens[id].text.empty() &&
        (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown)) {
      v.special_tokens.push_back(id);
    }
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(), [&](int32_t a, int32_t b) {
    return v.tokens[a].text.size() > v.tokens[b].text.size();
  });

  // Per-model whitespace handling around special tokens (llama.cpp keys these on names too).
  const std::string name = ToLowerAscii(spec.model_name);
  if (IsOneOf(v.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"})) {
    const int32_t id = v.Find("<mask>");
    if (id != kNoToken) v.tokens[id].lstrip = true;
  } else if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.tokens[id].rstrip = true;
    if (int32_t id = v.Find("</s>"); id != kNoToken) v.tokens[id].rstrip = true;
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = v.Find(text); id != kNoToken) v.tokens[id].rstrip = false;
    }
  }

  for (TokenInfo& t : v.tokens) t.piece = MakePiece(kind, t);

  if (kind == TokenizerKind::kSpm) {
    for (const TokenInfo& t : v.tokens) {
      uint32_t prev = 0;
      for (size_t pos = 0; pos < t.text.size();) {
        const Utf8Char ch = DecodeUtf8(t.text, pos);
        const uint32_t c = ch.valid ? ch.cp : 0x110000 + static_cast<uint8_t>(t.text[pos]);
        if (pos > 0) v.char_pairs.insert(CharPairKey(prev, c));
        prev = c;
        pos += ch.len;
      }
    }
  }

  static const char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    int32_t id = kNoToken;
    if (kind == TokenizerKind::kBpe || kind == TokenizerKind::kWpm) {
      id = v.Find(ByteToUnicode(static_cast<uint8_t>(b)));
    } else {
      const char hex[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', 0};
      id = v.Find(hex);
      if (id == kNoToken) id = v.Find(std::string(1, static_cast<char>(b)));
      if (id == kNoToken) id = v.unk;
    }
    v.byte_tokens[b] = id;
  }
  return vocab;
}

}  // namespace r1d::tokenizer
