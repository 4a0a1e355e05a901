#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace r1d::tokenizer {
namespace {

// The regexes below are those of the Hugging Face tokenizer.json files the GGUF pre-tokenizer
// names stand for (as llama.cpp applies them, including its splitting of one alternation into
// several passes for some models). Non-ASCII characters are written as \x{...}.

// GPT-2 (also MPT, OLMo, ...): contractions, words, numbers, other symbols, spaces.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

// Llama 3: case-insensitive contractions, numbers in groups of up to three digits.
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen2 (and DeepSeek-R1-Distill-Qwen): as Llama 3 but single digits.
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr const char* kChatGlm4 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Classes listing non-ASCII characters leave out the whitespace among them (U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000): llama.cpp, whose ids are the reference, hands every
// non-ASCII whitespace character to its regex engine as "\v", so such a class never matches one.

// CJK ideographs (U+4E00..U+9FA5), U+0800..U+4E00 and Hangul, as one class (DeepSeek).
constexpr const char* kDeepSeekCjk =
    R"([\x{4E00}-\x{9FA5}\x{0800}-\x{167F}\x{1681}-\x{1FFF}\x{200B}-\x{2027}\x{202A}-\x{202E})"
    R"(\x{2030}-\x{205E}\x{2060}-\x{2FFF}\x{3001}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

// DeepSeek LLM: cased letters (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, ...) as
// listed in its tokenizer.json.
constexpr const char* kDeepSeekLlmLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
// ASCII and full-width punctuation, quotes U+2018..U+201F, U+3000..U+3002 (without U+3000).
constexpr const char* kDeepSeekLlmPunct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3001}-\x{3002}]+)";

constexpr const char* kDeepSeekV3 =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Poro / BLOOM / GPT-3 Finnish: anything up to whitespace or sentence punctuation.
constexpr const char* kPoro =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)";

constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S))";

constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool NameIn(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (name == n) return true;
  }
  return false;
}

// The White_Space property, as a character class body. PCRE2's \s also matches U+180E, which
// Unicode (and the reference tokenizers) no longer count as whitespace.
constexpr std::string_view kWhitespaceClass =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites \s and \S (outside character classes) and \s (inside) to kWhitespaceClass.
Result<std::string> ExpandWhitespace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        if (in_class) {
          out += kWhitespaceClass;
        } else {
          out += '[';
          out += kWhitespaceClass;
          out += ']';
        }
      } else if (next == 'S') {
        if (in_class) return Status::Error("\\S inside a character class is not supported");
        out += "[^";
        out += kWhitespaceClass;
        out += ']';
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

// Per-thread match data, so Split needs no lock and no allocation per call.
struct MatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

Result<PreTokenizerConfig> GetPreTokenizerConfig(std::string_view pre) {
  PreTokenizerConfig c;
  if (pre.empty() || pre == "default") {
    c.patterns = {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"};
  } else if (NameIn(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3"})) {
    c.patterns = {kLlama3};
    c.ignore_merges = true;
    c.add_bos = true;
  } else if (NameIn(pre, {"dbrx", "smaug-bpe"})) {
    c.patterns = {kLlama3};
  } else if (pre == "deepseek-llm") {
    c.patterns = {R"([\r\n])", kDeepSeekLlmLetters, kDeepSeekLlmPunct,
                  R"(\s+$)",   kDeepSeekCjk,        R"(\p{N}+)"};
  } else if (pre == "deepseek-v3") {
    c.patterns = {R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
                  kDeepSeekV3};
  } else if (pre == "deepseek-coder") {
    c.patterns = {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepSeekCjk, R"(\p{N})"};
  } else if (pre == "falcon") {
    c.patterns = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
  } else if (NameIn(pre, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                          "minerva-7b"})) {
    c.patterns = {R"(\p{N})", kGpt2};
  } else if (NameIn(pre, {"gpt-2", "mpt", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en",
                          "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "olmo", "jais",
                          "trillion"})) {
    c.patterns = {kGpt2};
  } else if (NameIn(pre, {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"})) {
    c.patterns = {kQwen2};
  } else if (NameIn(pre, {"poro-chat", "bloom", "gpt3-finnish"})) {
    c.patterns = {kPoro};
  } else if (pre == "viking") {
    c.patterns = {kPoro, R"(\p{N})"};
  } else if (pre == "chatglm-bpe") {
    c.patterns = {kChatGlm4};
  } else if (pre == "tekken") {
    c.patterns = {kTekken};
    c.ignore_merges = true;
    c.add_bos = true;
  } else if (pre == "gpt-4o") {
    c.patterns = {kGpt4o};
  } else {
    return Status::Error("unknown pre-tokenizer '" + std::string(pre) + "'");
  }
  return c;
}

struct RegexSplitter::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

RegexSplitter::~RegexSplitter() = default;

Result<std::unique_ptr<RegexSplitter>> RegexSplitter::Create(
    const std::vector<std::string>& patterns) {
  auto splitter = std::make_unique<RegexSplitter>();
  for (const std::string& pattern : patterns) {
    R1D_ASSIGN_OR_RETURN(std::string expanded, ExpandWhitespace(pattern));
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    // DOLLAR_ENDONLY: "$" means the end of the piece, not also "before a final newline".
    const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
    auto regex = std::make_unique<Regex>();
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expanded.data()), expanded.size(),
                                options, &error, &error_offset, nullptr);
    if (regex->code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return Status::Error("pre-tokenizer regex '" + pattern + "' does not compile at offset " +
                           std::to_string(error_offset) + ": " +
                           reinterpret_cast<const char*>(message));
    }
    // JIT is an optimization only: without it (e.g. no executable memory) matching still works.
    regex->jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE) == 0;
    splitter->regexes_.push_back(std::move(regex));
  }
  return splitter;
}

void RegexSplitter::Split(std::string_view text, std::vector<Piece>* pieces) const {
  thread_local MatchData match_data;
  pieces->clear();
  if (text.empty()) return;
  pieces->push_back({0, text.size()});
  std::vector<Piece> next;
  const auto* subject_base = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (const auto& regex : regexes_) {
    next.clear();
    for (const Piece& chunk : *pieces) {
      PCRE2_SPTR subject = subject_base + chunk.offset;
      size_t gap_start = 0;  // end of the last match, relative to the chunk
      size_t pos = 0;
      while (pos < chunk.length) {
        // pcre2_jit_match skips the per-call checks of pcre2_match: most calls match a short word.
        int rc = regex->jit ? pcre2_jit_match(regex->code, subject, chunk.length, pos, 0,
                                              match_data.data, nullptr)
                            : pcre2_match(regex->code, subject, chunk.length, pos, 0,
                                          match_data.data, nullptr);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
          // JIT stack exhausted or similar: the interpreter keeps its state on the heap.
          rc = pcre2_match(regex->code, subject, chunk.length, pos, PCRE2_NO_JIT, match_data.data,
                           nullptr);
        }
        if (rc < 0) break;  // no match, or a limit hit: the rest stays one gap
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_data.data);
        const size_t start = ov[0], end = ov[1];
        if (end <= start) {
          // Empty match: try again one character further (an empty piece is never emitted).
          pos = start + 1;
          while (pos < chunk.length && (subject[pos] & 0xC0) == 0x80) ++pos;
          continue;
        }
        if (start > gap_start) next.push_back({chunk.offset + gap_start, start - gap_start});
        next.push_back({chunk.offset + start, end - start});
        gap_start = pos = end;
      }
      if (gap_start < chunk.length) {
        next.push_back({chunk.offset + gap_start, chunk.length - gap_start});
      }
    }
    pieces->swap(next);
  }
}

}  // namespace r1d::tokenizer
