#pragma once
// Tokenizers built from GGUF metadata (tokenizer.ggml.*): byte-level BPE ("gpt2") with the
// pre-tokenizer named by tokenizer.ggml.pre, SentencePiece-style ("llama", byte fallback) and
// WordPiece ("bert"). Results match llama.cpp's tokenizer on the same vocabulary.
//
// A Tokenizer is immutable after loading; Encode/Decode are thread-safe (the BPE word cache is
// internally synchronized), so one instance serves every request.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace r1d::formats {
class GgufFile;
}

namespace r1d::tokenizer {

inline constexpr int32_t kNoToken = -1;

enum class TokenizerKind { kBpe, kSpm, kWpm };

// Values of tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything a tokenizer is built from: the tokenizer.ggml.* keys, already decoded. LoadTokenizer
// fills it from a GGUF; tests build small vocabularies directly. Absent optionals take the
// defaults llama.cpp uses for the model type.
struct VocabSpec {
  std::string model;                 // tokenizer.ggml.model: "gpt2", "llama" or "bert"
  std::string pre;                   // tokenizer.ggml.pre ("" = "default")
  std::string model_name;            // general.name (a few per-model quirks depend on it)
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<float> scores;         // empty or one per token
  std::vector<int32_t> token_types;  // empty or one per token (TokenType values)
  std::vector<std::string> merges;   // "left right", BPE only
  // Special ids; kNoToken means "explicitly none".
  std::optional<int32_t> bos_id, eos_id, eot_id, eom_id, unk_id, sep_id, pad_id, mask_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

// Detokenization choices.
struct DecodeOptions {
  // Emit the text of control / unknown tokens ("<｜end▁of▁sentence｜>"); dropped otherwise.
  bool render_special = false;
  // SentencePiece (and WordPiece) vocabularies prefix the text with a space when encoding; drop
  // one leading space of the first piece of text (decoding a whole text, not a continuation).
  // No effect for byte-level BPE.
  bool strip_leading_space = false;
};

class TokenizerImpl;

class Tokenizer {
 public:
  // Validates the spec (lengths, ids, merges) and builds the lookup tables.
  static Result<std::unique_ptr<Tokenizer>> Create(VocabSpec spec);
  // Only Create can make a TokenizerImpl; use Create or LoadTokenizer.
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: add BOS / EOS as the vocabulary asks (tokenizer.ggml.add_bos_token / ...;
  // WordPiece: [CLS] ... [SEP]).
  // parse_special: turn the text of control tokens ("<｜User｜>") into those tokens; otherwise
  // only user-defined tokens are matched and control-token text is tokenized as plain text.
  // Never fails: invalid UTF-8 is tokenized as bytes.
  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const;
  // Concatenated pieces (raw bytes: may be invalid UTF-8 if the ids cut a character). Ids out of
  // range are skipped.
  std::string Decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  TokenizerKind kind() const;
  const std::string& pre() const;  // the pre-tokenizer name in effect
  int32_t n_vocab() const;
  bool IsValid(int32_t id) const { return id >= 0 && id < n_vocab(); }

  // kNoToken when the vocabulary has none.
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;
  int32_t unk() const;
  int32_t pad() const;
  int32_t sep() const;
  bool add_bos() const;  // whether Encode(add_special = true) prepends BOS
  bool add_eos() const;  // whether Encode(add_special = true) appends EOS
  // Tokens that end generation: EOS, EOT, EOM and control tokens such as <|eot_id|>, <|im_end|>,
  // <|endoftext|>, <｜end▁of▁sentence｜>. Sorted ascending.
  bool IsEndOfGeneration(int32_t id) const;
  const std::vector<int32_t>& end_of_generation() const;

  // The token's string as stored in the vocabulary ("Ġworld", "▁world", "<0x0A>"); "" if invalid.
  std::string_view TokenText(int32_t id) const;
  // The bytes the token stands for in text (" world", "\n"); control tokens give their text.
  // "" if invalid.
  std::string_view TokenPiece(int32_t id) const;
  TokenType GetTokenType(int32_t id) const;
  // Control or unknown: not text, skipped by Decode unless render_special.
  bool IsSpecial(int32_t id) const;
  // The id of the token whose vocabulary string is exactly `text`, or kNoToken.
  int32_t FindToken(std::string_view text) const;

 private:
  std::unique_ptr<TokenizerImpl> impl_;
};

// Reads tokenizer.ggml.* (and general.name) from a model or vocab-only GGUF. Missing or mistyped
// keys, mismatched array lengths, special ids out of range and merges naming unknown tokens are
// errors naming the file and key.
Result<VocabSpec> ReadVocabSpec(const formats::GgufFile& gguf);
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const formats::GgufFile& gguf);

// Incremental detokenizer for streaming: feed generated ids one at a time and get back the text
// that is complete so far. A UTF-8 character split across tokens (byte tokens, or BPE pieces that
// cut a character) is held back until it is complete; output is always valid UTF-8 (bytes that
// can never form a character become U+FFFD).
class StreamDetokenizer {
 public:
  explicit StreamDetokenizer(const Tokenizer& tokenizer, DecodeOptions options = {});
  // Returns the newly completed text (possibly empty).
  std::string Feed(int32_t id);
  std::string Feed(std::span<const int32_t> ids);
  // Returns what is still held back (an unfinished character becomes U+FFFD) and resets, so the
  // instance can start a new text.
  std::string Flush();
  // Bytes held back waiting for the rest of a character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string TakeComplete(bool final);

  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;
  bool started_ = false;  // a piece of text has been seen (for strip_leading_space)
};

}  // namespace r1d::tokenizer
