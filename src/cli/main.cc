#include <cstdio>
#include <memory>
#include <vector>

#include "cli/command.h"

namespace r1d::cli {
namespace {

struct Command {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}

}  // namespace

CommandRegistrar::CommandRegistrar(const std::string& name, const std::string& description,
                                   CommandSetup setup) {
  Registry().push_back({name, description, std::move(setup)});
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "r1d: error: %s\n", message.c_str());
  return 1;
}

}  // namespace r1d::cli

int main(int argc, char** argv) {
  using r1d::cli::Registry;
  CLI::App app{"r1d: run DeepSeek-R1 and its distilled models on your own machines"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "r1d 0.1.0");
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& cmd : Registry()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.description);
    runners.emplace_back(sub, cmd.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) {
      try {
        return run();
      } catch (const std::exception& e) {
        return r1d::cli::Fail(e.what());
      }
    }
  }
  return 1;
}
