// The gpufleet CLI: chooses the real file system and clock, then hands over to cli::RunCli.

#include <iostream>

#include "cli/app.h"
#include "os/clock.h"
#include "os/file_system.h"

int main(int argc, char** argv) {
  auto fs = gpufleet::os::NewPosixFileSystem("/");
  auto clock = gpufleet::os::NewRealClock();
  gpufleet::cli::Environment env{fs.get(), clock.get()};
  return gpufleet::cli::RunCli(argc, argv, env, std::cout, std::cerr);
}
