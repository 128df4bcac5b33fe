// Finding (seen while writing fuzz_names, not by a target: libFuzzer's inputs
// stay under 4096 bytes): libstdc++'s std::regex matches recursively, one
// stack frame chain per character of the subject, so matching a route pattern
// such as the coordinator's checkpoint upload route against a long request
// path overflows the stack. HttpsServer (https_connection.cpp,
// regex_match of request_.path against every route) and the agent's copies
// route (volunteer_agent.cpp) match paths of up to max_header_bytes (16 KiB).
//
//   g++ -O2 -std=c++20 tests/fuzz/findings/route_regex_depth.cpp -o /tmp/depth
//   /tmp/depth 20000 && /tmp/depth 30000          # 8 MiB stack: ok, then SIGSEGV
//   g++ -O1 -fsanitize=address,undefined -std=c++20 tests/fuzz/findings/route_regex_depth.cpp \
//     -o /tmp/depth-asan && /tmp/depth-asan 8000   # AddressSanitizer: stack-overflow
//
// Measured on Debian 12 (GCC 12, 8 MiB stack): -O2 survives 20000 characters
// and dies at 30000; under ASan and UBSan (build-sanitize) 8000 characters
// overflow, inside the 16 KiB a request line may have. A thread with a smaller
// stack fails sooner.
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>

int main(int argc, char** argv) {
  const std::size_t length = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 30000;
  const std::string path = "/api/jobs/1/checkpoints/step-1/" + std::string(length, 'a');
  const std::regex route(R"(/api/jobs/(\d+)/checkpoints/(step-\d+)/([A-Za-z0-9._-]+))");
  std::cout << "matched: " << std::regex_match(path, route) << "\n";
}
