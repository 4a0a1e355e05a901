// r1d tokenize / r1d detokenize: text <-> token ids with a model's (or a vocab-only GGUF's)
// tokenizer.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "formats/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace r1d::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string prompt;
  bool from_stdin = false;
  bool ids_only = false;
  bool add_special = false;
  bool parse_special = false;
};

struct DetokenizeFlags {
  std::string model;
  std::string ids;
  bool no_special = false;
};

Result<std::unique_ptr<tokenizer::Tokenizer>> Load(const std::string& path) {
  R1D_ASSIGN_OR_RETURN(auto file, formats::GgufFile::Open(path));
  return tokenizer::LoadTokenizer(*file);
}

// "1,2,3", "1 2 3" or "[1, 2, 3]".
Result<std::vector<int32_t>> ParseIdList(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::string body = text;
  const size_t open = body.find_first_not_of(" \t\r\n");
  if (open != std::string::npos && body[open] == '[') {
    const size_t close = body.find_last_not_of(" \t\r\n");
    if (body[close] != ']') return Status::Error("--ids: missing ']' in '" + text + "'");
    body = body.substr(open + 1, close - open - 1);
  }
  while (i < body.size()) {
    if (is_sep(body[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < body.size() && !is_sep(body[j])) ++j;
    const std::string item = body.substr(i, j - i);
    int64_t value = 0;
    bool ok = item.size() <= 10;
    for (char c : item) {
      if (c < '0' || c > '9') ok = false;
      if (ok) value = value * 10 + (c - '0');
    }
    if (!ok || value > INT32_MAX) return Status::Error("--ids: '" + item + "' is not a token id");
    ids.push_back(static_cast<int32_t>(value));
    i = j;
  }
  return ids;
}

// Non-printable bytes would garble the one-token-per-line listing.
std::string Escape(std::string_view piece) {
  std::string out;
  for (char c : piece) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int RunTokenize(const TokenizeFlags& flags, bool has_prompt) {
  if (flags.from_stdin == has_prompt) return Fail("give exactly one of --stdin and -p TEXT");
  std::string text = flags.prompt;
  if (flags.from_stdin) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return Fail("could not read standard input");
  }
  auto tok = Load(flags.model);
  if (!tok.ok()) return Fail(tok.status().message());
  const std::vector<int32_t> ids = (*tok)->Encode(text, flags.add_special, flags.parse_special);
  std::string out;
  if (flags.ids_only) {
    out = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out += ", ";
      out += std::to_string(ids[i]);
    }
    out += "]\n";
  } else {
    for (int32_t id : ids) {
      out += std::to_string(id) + "\t'" + Escape((*tok)->TokenPiece(id)) + "'\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int RunDetokenize(const DetokenizeFlags& flags) {
  auto ids = ParseIdList(flags.ids);
  if (!ids.ok()) return Fail(ids.status().message());
  auto tok = Load(flags.model);
  if (!tok.ok()) return Fail(tok.status().message());
  for (int32_t id : *ids) {
    if (!(*tok)->IsValid(id)) {
      return Fail("token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                  std::to_string((*tok)->n_vocab()) + " tokens)");
    }
  }
  tokenizer::DecodeOptions options;
  options.render_special = !flags.no_special;
  options.strip_leading_space = true;  // a whole text: drop SentencePiece's prefix space
  const std::string text = (*tok)->Decode(*ids, options);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const CommandRegistrar kTokenize("tokenize", "Print the token ids of a text", [](CLI::App& sub) {
  auto flags = std::make_shared<TokenizeFlags>();
  sub.add_option("-m,--model", flags->model, "Model or vocab-only GGUF file")->required();
  CLI::Option* prompt = sub.add_option("-p,--prompt", flags->prompt, "Text to tokenize");
  sub.add_flag("--stdin", flags->from_stdin, "Read the text from standard input (as is)");
  sub.add_flag("--ids", flags->ids_only, "Print only the ids, as a JSON array on one line");
  sub.add_flag("--add-special", flags->add_special,
               "Add BOS/EOS as the vocabulary asks (default: none)");
  sub.add_flag("--parse-special", flags->parse_special,
               "Turn the text of special tokens such as <｜User｜> into those tokens");
  return [flags, prompt] { return RunTokenize(*flags, prompt->count() > 0); };
});

const CommandRegistrar kDetokenize("detokenize", "Print the text of token ids", [](CLI::App& sub) {
  auto flags = std::make_shared<DetokenizeFlags>();
  sub.add_option("-m,--model", flags->model, "Model or vocab-only GGUF file")->required();
  sub.add_option("--ids", flags->ids, "Token ids: 1,2,3 (or a JSON array)")->required();
  sub.add_flag("--no-special", flags->no_special,
               "Leave out control tokens such as BOS/EOS (default: print their text)");
  return [flags] { return RunDetokenize(*flags); };
});

}  // namespace
}  // namespace r1d::cli
