// Parsing, resolving and binding a listen address.
#include "listen_address.hpp"

#include <charconv>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::pool {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

int listen_on(tcp::acceptor& acceptor, const std::string& address) {
  const std::size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // IPv6
  }
  int port = -1;
  if (colon != std::string::npos) {
    const char* first = address.data() + colon + 1;
    const char* last = address.data() + address.size();
    const auto [end, error] = std::from_chars(first, last, port);
    if (error != std::errc() || end != last || first == last) port = -1;
  }
  if (host.empty() || port < 0 || port > 65535) {
    throw UsageError(fmt::format(
        "\"{}\" is not an address to listen on: expected HOST:PORT (port 0: any free port)",
        address));
  }
  if (acceptor.is_open()) {
    throw Error(ExitCode::internal,
                fmt::format("cannot listen on {}: the server listens already", address));
  }

  tcp::resolver resolver(acceptor.get_executor());
  error_code failure;
  const tcp::resolver::results_type found = resolver.resolve(
      host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, failure);
  if (failure || found.empty()) {
    throw Error(ExitCode::usage,
                fmt::format("cannot listen on {}: the host is not an address of this machine ({})",
                            address, failure ? failure.message() : "no address"));
  }
  const tcp::endpoint endpoint = found.begin()->endpoint();
  const auto refuse = [&](const error_code& ec) {
    error_code ignored;
    acceptor.close(ignored);
    throw SystemError(fmt::format("cannot listen on {}", address), ec.value());
  };
  if (acceptor.open(endpoint.protocol(), failure)) refuse(failure);
  // SO_REUSEADDR (not SO_REUSEPORT, with which a second server would share the
  // port): a restart binds while old connections linger in TIME_WAIT.
  acceptor.set_option(tcp::acceptor::reuse_address(true), failure);
  if (acceptor.bind(endpoint, failure)) refuse(failure);
  if (acceptor.listen(asio::socket_base::max_listen_connections, failure)) refuse(failure);
  return acceptor.local_endpoint().port();
}

}  // namespace spare::pool
