#pragma once
// Subcommands register themselves: each src/cli/cmd_*.cc defines a static CommandRegistrar, so
// adding a command touches no shared file. Commands return the process exit code.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace r1d::cli {

// Called with the subcommand's CLI::App to declare flags; returns the function to run after
// parsing (which returns the exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandRegistrar {
  CommandRegistrar(const std::string& name, const std::string& description, CommandSetup setup);
};

// Declares --fast-dots (models::LoadOptions::row_order) on a subcommand.
inline void AddFastDotsFlag(CLI::App& sub, bool& row_order) {
  sub.add_flag("--fast-dots", row_order,
               "Run the quantized matrix products in row order: about half the multiply "
               "instructions, so faster prompt processing and batched decode, but float "
               "rounding differs from llama.cpp's: each product rounds less often, but results are "
               "not the same bits, greedy output of small models can diverge after some tokens, "
               "and small quantized models fall outside the reference outputs' tolerance");
}

// Prints "r1d: error: <message>" on one line to stderr and returns 1.
int Fail(const std::string& message);

}  // namespace r1d::cli
