#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm_wpm.h"
#include "tokenizer/vocab.h"

namespace r1d::tokenizer {

class TokenizerImpl {
 public:
  std::unique_ptr<Vocab> vocab;
  std::unique_ptr<SpecialTokenMatcher> matcher;
  std::unique_ptr<RegexSplitter> splitter;  // BPE only
  std::unique_ptr<BpeModel> bpe;            // BPE only

  void EncodeBpeText(std::string_view text, std::vector<int32_t>* out) const {
    thread_local std::vector<RegexSplitter::Piece> pieces;
    splitter->Split(text, &pieces);
    for (const auto& p : pieces) bpe->EncodePiece(text.substr(p.offset, p.length), out);
    ReleaseLargeScratch(&pieces);
  }

  void EncodeSpmText(std::string_view text, bool prefix_space, std::vector<int32_t>* out) const {
    // SentencePiece sees spaces as U+2581, and a leading one marks the start of a text.
    std::string escaped;
    escaped.reserve(text.size() + 8);
    if (prefix_space) escaped += "\xE2\x96\x81";
    for (char c : text) {
      if (c == ' ') {
        escaped += "\xE2\x96\x81";
      } else {
        escaped += c;
      }
    }
    SpmEncode(*vocab, escaped, out);
  }
};

Tokenizer::Tokenizer(std::unique_ptr<TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::Create(VocabSpec spec) {
  auto impl = std::make_unique<TokenizerImpl>();
  R1D_ASSIGN_OR_RETURN(TokenizerKind kind, ParseTokenizerModel(spec.model));
  PreTokenizerConfig pre_config;
  if (kind == TokenizerKind::kBpe) {
    R1D_ASSIGN_OR_RETURN(pre_config, GetPreTokenizerConfig(spec.pre));
  }
  R1D_ASSIGN_OR_RETURN(impl->vocab, BuildVocab(spec, pre_config.add_bos));
  impl->matcher = std::make_unique<SpecialTokenMatcher>(*impl->vocab);
  if (kind == TokenizerKind::kBpe) {
    R1D_ASSIGN_OR_RETURN(impl->splitter, RegexSplitter::Create(pre_config.patterns));
    R1D_ASSIGN_OR_RETURN(impl->bpe,
                         BpeModel::Create(*impl->vocab, spec.merges, pre_config.ignore_merges));
  }
  return std::make_unique<Tokenizer>(std::move(impl));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Vocab& v = *impl_->vocab;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  thread_local std::vector<Fragment> fragments;
  impl_->matcher->Partition(text, parse_special, &fragments);
  const bool bos = add_special && v.add_bos && v.bos != kNoToken;
  const bool eos = add_special && v.add_eos && v.eos != kNoToken;
  if (bos) out.push_back(v.bos);
  switch (v.kind) {
    case TokenizerKind::kBpe:
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
        } else {
          impl_->EncodeBpeText(text.substr(f.offset, f.length), &out);
        }
      }
      break;
    case TokenizerKind::kSpm: {
      // The prefix space goes before the first text and before text that follows a special token.
      bool after_special = true;
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
          after_special = true;
        } else {
          impl_->EncodeSpmText(text.substr(f.offset, f.length), v.add_space_prefix && after_special,
                               &out);
          after_special = false;
        }
      }
      break;
    }
    case TokenizerKind::kWpm:
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
        } else {
          WpmEncode(v, text.substr(f.offset, f.length), &out);
        }
      }
      // BERT ends every sequence with [SEP].
      if (add_special && v.sep != kNoToken) out.push_back(v.sep);
      break;
  }
  if (eos) out.push_back(v.eos);
  ReleaseLargeScratch(&fragments);
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  const Vocab& v = *impl_->vocab;
  const bool strip =
      options.strip_leading_space &&
      (v.kind == TokenizerKind::kWpm || (v.kind == TokenizerKind::kSpm && v.add_space_prefix));
  std::string out;
  bool at_start = true;
  for (int32_t id : ids) {
    if (!IsValid(id)) continue;
    if (!options.render_special && v.IsSpecialType(id)) continue;
    std::string_view piece = v.tokens[id].piece;
    if (piece.empty()) continue;
    if (strip && at_start && piece[0] == ' ' && v.tokens[id].type == TokenType::kNormal) {
      piece.remove_prefix(1);
    }
    at_start = false;
    out.append(piece);
  }
  return out;
}

TokenizerKind Tokenizer::kind() const { return impl_->vocab->kind; }
const std::string& Tokenizer::pre() const { return impl_->vocab->pre; }
int32_t Tokenizer::n_vocab() const { return impl_->vocab->n_tokens(); }
int32_t Tokenizer::bos() const { return impl_->vocab->bos; }
int32_t Tokenizer::eos() const { return impl_->vocab->eos; }
int32_t Tokenizer::eot() const { return impl_->vocab->eot; }
int32_t Tokenizer::unk() const { return impl_->vocab->unk; }
int32_t Tokenizer::pad() const { return impl_->vocab->pad; }
int32_t Tokenizer::sep() const { return impl_->vocab->sep; }
bool Tokenizer::add_bos() const { return impl_->vocab->add_bos && bos() != kNoToken; }
bool Tokenizer::add_eos() const { return impl_->vocab->add_eos && eos() != kNoToken; }

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  const auto& eog = impl_->vocab->end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), id);
}

const std::vector<int32_t>& Tokenizer::end_of_generation() const {
  return impl_->vocab->end_of_generation;
}

std::string_view Tokenizer::TokenText(int32_t id) const {
  return IsValid(id) ? std::string_view(impl_->vocab->tokens[id].text) : std::string_view();
}

std::string_view Tokenizer::TokenPiece(int32_t id) const {
  return IsValid(id) ? std::string_view(impl_->vocab->tokens[id].piece) : std::string_view();
}

TokenType Tokenizer::GetTokenType(int32_t id) const {
  return IsValid(id) ? impl_->vocab->tokens[id].type : TokenType::kUndefined;
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return IsValid(id) && impl_->vocab->IsSpecialType(id);
}

int32_t Tokenizer::FindToken(std::string_view text) const { return impl_->vocab->Find(text); }

}  // namespace r1d::tokenizer
