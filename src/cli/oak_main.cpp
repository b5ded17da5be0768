// `oak`: the user's command-line client of the root orchestrator (see src/cli/oak/).

#include "cli/oak/oak_cli.h"

int main(int argc, char** argv) {
  auto ctx = oak::cli::processContext();
  return oak::cli::runOak(argc, argv, ctx);
}
