#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1d::tokenizer {

StreamDetokenizer::StreamDetokenizer(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string StreamDetokenizer::Feed(int32_t id) { return Feed(std::span<const int32_t>(&id, 1)); }

std::string StreamDetokenizer::Feed(std::span<const int32_t> ids) {
  for (int32_t id : ids) {
    DecodeOptions options = options_;
    // The leading space is only stripped from the first piece of the text.
    options.strip_leading_space = options_.strip_leading_space && !started_;
    pending_ += tokenizer_->Decode(std::span<const int32_t>(&id, 1), options);
    if (tokenizer_->IsValid(id) && !tokenizer_->TokenPiece(id).empty() &&
        (options_.render_special || !tokenizer_->IsSpecial(id))) {
      started_ = true;
    }
  }
  return TakeComplete(false);
}

std::string StreamDetokenizer::Flush() {
  std::string out = TakeComplete(true);
  started_ = false;
  return out;
}

// Emits every complete character of pending_; keeps a trailing sequence that may still be
// completed by the next token (unless `final`). A byte that cannot be part of a character becomes
// U+FFFD, so the output is always valid UTF-8.
std::string StreamDetokenizer::TakeComplete(bool final) {
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const Utf8Char ch = DecodeUtf8(pending_, pos);
    if (ch.valid) {
      out.append(pending_, pos, ch.len);
      pos += ch.len;
      continue;
    }
    // Invalid here: is it the start of a valid sequence, cut by the end of the buffer?
    const auto lead = static_cast<uint8_t>(pending_[pos]);
    const size_t need = Utf8SequenceLength(lead);
    bool truncated = need > 1 && pos + need > pending_.size();
    for (size_t i = pos + 1; truncated && i < pending_.size(); ++i) {
      if ((static_cast<uint8_t>(pending_[i]) & 0xC0) != 0x80) truncated = false;
    }
    if (truncated && pos + 1 < pending_.size()) {
      // Overlong, surrogate and beyond-U+10FFFF forms show in the second byte.
      const auto second = static_cast<uint8_t>(pending_[pos + 1]);
      if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
          (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
        truncated = false;
      }
    }
    if (truncated && !final) break;  // wait for the rest
    AppendUtf8(kReplacementChar, &out);
    pos = truncated ? pending_.size() : pos + 1;  // an unfinished character is one U+FFFD
  }
  pending_.erase(0, pos);
  return out;
}

}  // namespace r1d::tokenizer
