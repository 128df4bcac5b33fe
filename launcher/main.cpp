// spare: the command-line program; everything is in the launcher library.
#include "src/commands.hpp"

int main(int argc, char** argv) {
  return spare::launcher::cli_main(argc, argv);
}
