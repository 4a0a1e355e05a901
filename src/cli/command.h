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

// Prints "r1d: error: <message>" on one line to stderr and returns 1.
int Fail(const std::string& message);

}  // namespace r1d::cli
